"""Sales targets: bookings to reach per month or quarter, for a rep, a team or the company."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.contacts import Money
from api.schemas.records import Id, Write


class TargetSet(Write):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "period_grain": "quarter", "period_start": "2026-04-01", "team_id": 2,
        "amount": "250000.00"}]})

    period_grain: Literal["month", "quarter"]
    period_start: date = Field(description="The period's first day (a quarter starts in "
                               "January, April, July or October).")
    team_id: Id | None = Field(None, description="A team's target; leave out with user_id "
                               "for the company's.")
    user_id: Id | None = Field(None, description="A rep's target.")
    amount: Money = Field(description="Bookings (won deal amounts) to reach, >= 0.")


class TargetPublic(BaseModel):
    id: int
    period_grain: str
    period_start: date
    team_id: int | None
    user_id: int | None
    amount: Decimal
    set_by: int | None
    created_at: datetime
    updated_at: datetime
