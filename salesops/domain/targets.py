"""Sales targets: the bookings a rep, a team or the company should reach in a month or a
quarter. Managers set them for the teams and reps under them, admins for anyone (and for
the company); every change is audited. The dashboards read them through dbt's
`marts.sales_targets`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.domain import audit
from salesops.domain.audit import Actor
from salesops.domain.errors import InvalidInput, NotFound, PermissionDenied
from salesops.models import SalesTarget, Team, User
from salesops.models.sales import TARGET_GRAINS
from salesops.security import permissions

RESOURCE = "targets"
MAX_AMOUNT = Decimal("99999999999999.99")  # numeric(16, 2)
FIELDS = ("id", "period_grain", "period_start", "team_id", "user_id", "amount", "set_by",
          "created_at", "updated_at")


def _public(target: SalesTarget) -> dict[str, Any]:
    return {f: getattr(target, f) for f in FIELDS}


def period_start_of(grain: str, day: date) -> date:
    """The first day of the month or quarter `day` falls in."""
    month = day.month if grain == "month" else 3 * ((day.month - 1) // 3) + 1
    return date(day.year, month, 1)


def _check(session: Session, actor: Actor, scope: permissions.Scope, period_grain: str,
           period_start: date, amount: Decimal, team_id: int | None,
           user_id: int | None) -> None:
    if period_grain not in TARGET_GRAINS:
        raise InvalidInput(f"period_grain is one of {', '.join(TARGET_GRAINS)}.",
                           field="period_grain")
    if period_start != period_start_of(period_grain, period_start):
        raise InvalidInput(f"A {period_grain} starts on its first day: "
                           f"{period_start_of(period_grain, period_start)}, not {period_start}.",
                           field="period_start")
    if not Decimal(0) <= amount <= MAX_AMOUNT:
        raise InvalidInput("amount is a bookings amount from 0 to 99,999,999,999,999.99.",
                           field="amount")
    if team_id is not None and user_id is not None:
        raise InvalidInput("A target is for a rep (user_id) or a team (team_id), not both; "
                           "leave both out for the company's.", field="team_id")
    if user_id is not None and not session.scalar(
            sa.select(sa.exists().where(User.id == user_id, User.deleted_at.is_(None)))):
        raise NotFound(f"No user {user_id}.")
    if team_id is not None and session.get(Team, team_id) is None:
        raise NotFound(f"No team {team_id}.")
    principal = actor.principal
    if team_id is not None:
        allowed = permissions.covers_team(session, principal, scope, team_id)
    elif user_id is not None:
        allowed = permissions.may_assign(session, principal, scope, user_id)
    else:  # the company's
        allowed = scope == "all"
    if not allowed:
        raise PermissionDenied(f"Your role ({principal.role}) may set targets only for "
                               "the teams and reps you manage.")


def set_target(session: Session, actor: Actor, *, period_grain: str, period_start: date,
               amount: Decimal, team_id: int | None = None,
               user_id: int | None = None) -> dict[str, Any]:
    """Set (create or change) the target of one period and holder; audited."""
    scope = permissions.require(actor.principal, RESOURCE, "update")
    amount = Decimal(amount)
    _check(session, actor, scope, period_grain, period_start, amount, team_id, user_id)
    target = session.scalar(sa.select(SalesTarget).where(
        SalesTarget.period_grain == period_grain, SalesTarget.period_start == period_start,
        SalesTarget.team_id.is_not_distinct_from(team_id),
        SalesTarget.user_id.is_not_distinct_from(user_id)).with_for_update())
    before = None if target is None else audit.snapshot(target)
    if target is None:
        target = SalesTarget(period_grain=period_grain, period_start=period_start,
                             team_id=team_id, user_id=user_id)
        session.add(target)
    target.amount, target.set_by = amount, actor.id
    session.flush()
    session.refresh(target)
    audit.write(session, actor, RESOURCE, target.id, "create" if before is None else "update",
                "target.set", before, audit.snapshot(target))
    return _public(target)


def list_targets(session: Session, actor: Actor, *, period_from: date | None = None,
                 period_to: date | None = None) -> list[dict[str, Any]]:
    """The targets of the periods starting between `period_from` and `period_to`."""
    permissions.require(actor.principal, RESOURCE, "read")
    query = sa.select(SalesTarget).order_by(SalesTarget.period_start, SalesTarget.period_grain,
                                            SalesTarget.team_id.nulls_first(),
                                            SalesTarget.user_id.nulls_first())
    if period_from is not None:
        query = query.where(SalesTarget.period_start >= period_from)
    if period_to is not None:
        query = query.where(SalesTarget.period_start <= period_to)
    return [_public(t) for t in session.scalars(query)]


def seed_from_bookings(session: Session, actor: Actor, *, through: date, months: int = 24,
                       uplift: Decimal = Decimal("1.1")) -> int:
    """Demo targets, when none are set yet: for each team whose reps have won deals, a
    monthly target of `uplift` times its average month of bookings (to the thousand), for
    the `months`
    months up to `through`, and each of those reps an equal share. Returns how many were
    set (0 when targets exist already)."""
    if session.scalar(sa.select(sa.exists().where(SalesTarget.id.is_not(None)))):
        return 0
    won = session.execute(sa.text("""
        select u.team_id, array_agg(distinct u.id order by u.id) as reps,
               sum(d.amount) / count(distinct date_trunc('month', d.closed_at)) as monthly
        from app.sales_pipeline d join app.users u on u.id = d.owner_id
        where d.is_won and d.deleted_at is null and d.closed_at is not null
          and d.amount is not null and u.team_id is not null and u.deleted_at is null
        group by u.team_id""")).all()
    last = through.year * 12 + through.month - 1  # months since year 0
    starts = [date(m // 12, m % 12 + 1, 1) for m in range(last - months + 1, last + 1)]
    count = 0
    for team_id, reps, monthly in won:
        team_target = (Decimal(monthly) * uplift / 1000).quantize(Decimal(1)) * 1000
        for start in starts:
            set_target(session, actor, period_grain="month", period_start=start,
                       amount=team_target, team_id=team_id)
            for rep in reps:
                set_target(session, actor, period_grain="month", period_start=start,
                           amount=(team_target / len(reps)).quantize(Decimal("0.01")),
                           user_id=rep)
            count += 1 + len(reps)
    return count
