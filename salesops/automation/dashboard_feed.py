"""Dashboard figures, pushed live when the marts behind them are rebuilt.

dbt replaces mart tables on every build, so a trigger on them would not survive; instead
whoever refreshes them (the Dagster sensor that watches the marts' materializations)
calls `announce`, a `NOTIFY salesops_marts`. The API's WebSocket feed listens on that
channel and sends each connected user who may read every deal a
`{"type": "metrics", "scope": "dashboard", "metrics": {...}}` message with `figures`,
when they differ from the last ones it sent; a user who may see them gets them once on
connecting too.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.domain.users import Principal
from salesops.security import permissions

CHANNEL = "salesops_marts"

_DEALS = """
    select coalesce(sum(amount) filter (where not is_closed), 0) as open_pipeline_amount,
           coalesce(sum(weighted_amount) filter (where not is_closed), 0)
               as weighted_pipeline_amount,
           coalesce(sum(amount) filter (where is_won and closed_date >= current_date - 90), 0)
               as won_amount_90d,
           count(*) filter (where is_won and closed_date >= current_date - 90) as won_deals_90d,
           round(avg(case when is_won then 1.0 else 0.0 end)
                 filter (where is_closed and closed_date >= current_date - 90), 3)
               as win_rate_90d
    from marts.fct_deals"""
_LEADS = """
    select count(*) filter (where created_at >= current_date - 30) as new_leads_30d,
           round(avg(case when is_converted then 1.0 else 0.0 end), 3) as lead_conversion_rate
    from marts.fct_leads"""
_AMOUNTS = ("open_pipeline_amount", "weighted_pipeline_amount", "won_amount_90d")


def announce(engine: sa.Engine, source: str) -> None:
    """Tell listening API processes that marts changed (`source`: what rebuilt them)."""
    with engine.begin() as conn:
        conn.execute(sa.select(sa.func.pg_notify(CHANNEL, json.dumps({"source": source}))))


def _row(session: Session, table: str, sql: str) -> dict[str, Any]:
    if not session.scalar(sa.text("select to_regclass(:t) is not null"), {"t": table}):
        return {}
    return {k: (float(v) if v is not None and not isinstance(v, int) else v)
            for k, v in session.execute(sa.text(sql)).mappings().one().items()}


def figures(session: Session, principal: Principal) -> dict[str, Any] | None:
    """The overview's headline figures from the marts, for a user who may read every deal
    (None for others: the marts are not scoped per user); amounts None where the role may
    not see them, and a figure None while its mart is not built."""
    if permissions.scope_of(principal.role, "deals", "read") != "all":
        return None
    found = {**_row(session, "marts.fct_deals", _DEALS),
             **_row(session, "marts.fct_leads", _LEADS)}
    names = ("open_pipeline_amount", "weighted_pipeline_amount", "won_amount_90d",
             "won_deals_90d", "win_rate_90d", "new_leads_30d", "lead_conversion_rate")
    hidden = "amount" in permissions.hidden_fields(principal.role, "deals")
    return {name: None if hidden and name in _AMOUNTS else found.get(name) for name in names}
