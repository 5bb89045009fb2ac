"""Bookings targets over any date range, from `marts.sales_targets`.

A target covers a month or a quarter; over a range it counts in proportion to the days
they share. Targets are read one level at a time so none is counted twice: with the team
or rep filter on, the reps' own targets (of the reps in `:owners`); otherwise the highest
level any target is set at (the company's, else the teams', else the reps')."""

from __future__ import annotations

LEVELS = ("company", "team", "rep")


def target_between(start: str, end: str) -> str:
    """A scalar SQL subquery: the target prorated over the days `start` to `end` (SQL date
    expressions, both included); null when no target overlaps them."""
    levels = ", ".join(f"'{level}'" for level in LEVELS)
    return f"""(
        select sum(t.target_amount
                   * (least(t.period_end, {end}) - greatest(t.period_start, {start}) + 1)
                   / (t.period_end - t.period_start + 1))::float8
        from marts.sales_targets t
        where t.period_start <= {end} and t.period_end >= {start}
          and case when cast(:owners as bigint[]) is null
                   then t.level = (select level from marts.sales_targets
                                   order by array_position(array[{levels}], level) limit 1)
                   else t.level = 'rep' and t.owner_id = any(cast(:owners as bigint[]))
              end)"""


#: The target of each period given as arrays of first and last days (`:starts`, `:ends`).
PERIOD_TARGETS_SQL = """
    select p.period_start, p.period_end,
           """ + target_between("p.period_start", "p.period_end") + """ as target
    from unnest(cast(:starts as date[]), cast(:ends as date[])) as p (period_start, period_end)"""
