"""Pipelines and their stages, deals (the seed's sales_pipeline), stage history, contracts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from salesops.models.base import (
    Base,
    IdMixin,
    SoftDeleteMixin,
    TimestampMixin,
    VersionMixin,
    app_fk,
    one_of,
)
from salesops.security.sealed import Sealed

FORECAST_CATEGORIES = ("pipeline", "best_case", "commit", "closed", "omitted")
CONTRACT_STATUSES = ("draft", "sent", "signed", "active", "terminated")
#: The invoice's state as the financial system reports it (payment-status webhook).
PAYMENT_STATUSES = ("unpaid", "partially_paid", "paid", "overdue", "failed", "refunded")


class Pipeline(IdMixin, TimestampMixin, Base):
    __tablename__ = "pipelines"
    __table_args__ = {"schema": "app"}

    name: Mapped[str] = mapped_column(sa.Text, unique=True)
    is_default: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())


class PipelineStage(IdMixin, TimestampMixin, Base):
    __tablename__ = "pipeline_stages"
    __table_args__ = (
        sa.UniqueConstraint("pipeline_id", "name"),
        sa.UniqueConstraint("pipeline_id", "position"),
        sa.CheckConstraint("probability between 0 and 100", name="probability_range"),
        sa.CheckConstraint("not is_won or is_closed", name="won_is_closed"),
        one_of("forecast_category", FORECAST_CATEGORIES),
        {"schema": "app"},
    )

    pipeline_id: Mapped[int] = mapped_column(app_fk("pipelines", "CASCADE"))
    name: Mapped[str] = mapped_column(sa.Text)
    position: Mapped[int] = mapped_column(sa.Integer)
    probability: Mapped[int] = mapped_column(sa.Integer)
    forecast_category: Mapped[str] = mapped_column(sa.Text)
    is_closed: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    is_won: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())


class Deal(IdMixin, TimestampMixin, SoftDeleteMixin, VersionMixin, Base):
    __tablename__ = "sales_pipeline"
    __table_args__ = (
        sa.CheckConstraint("amount is null or amount >= 0", name="amount_nonnegative"),
        one_of("forecast_category", FORECAST_CATEGORIES),
        sa.UniqueConstraint("source", "source_key"),
        sa.Index(None, "owner_id", "stage_id"),
        {"schema": "app", "comment": "deals"},
    )

    name: Mapped[str] = mapped_column(sa.Text)
    account_id: Mapped[int | None] = mapped_column(app_fk("accounts", "SET NULL"), index=True)
    contact_id: Mapped[int | None] = mapped_column(app_fk("contacts", "SET NULL"), index=True)
    lead_id: Mapped[int | None] = mapped_column(app_fk("leads", "SET NULL"), index=True)
    pipeline_id: Mapped[int] = mapped_column(app_fk("pipelines"))
    stage_id: Mapped[int] = mapped_column(app_fk("pipeline_stages"), index=True)
    owner_id: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(app_fk("marketing_campaigns", "SET NULL"),
                                                    index=True)
    amount: Mapped[float | None] = mapped_column(sa.Numeric(16, 2), comment="sensitive")
    currency: Mapped[str] = mapped_column(sa.String(3), server_default="USD")
    probability: Mapped[int | None] = mapped_column(sa.Integer)
    forecast_category: Mapped[str] = mapped_column(sa.Text, server_default="pipeline")
    expected_close_date: Mapped[date | None] = mapped_column(sa.Date)
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    is_won: Mapped[bool | None] = mapped_column(sa.Boolean)
    loss_reason: Mapped[str | None] = mapped_column(sa.Text)
    lead_source: Mapped[str | None] = mapped_column(sa.Text)
    deal_type: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[str | None] = mapped_column(sa.Text)
    source_key: Mapped[str | None] = mapped_column(sa.Text)
    custom_fields: Mapped[dict] = mapped_column(server_default="{}")


class DealStageHistory(IdMixin, Base):
    """Each stage a deal was in; the label as it was then is kept apart from today's stage."""

    __tablename__ = "deal_stage_history"
    __table_args__ = (
        sa.CheckConstraint("exited_at is null or exited_at >= entered_at", name="exit_after_entry"),
        sa.Index(None, "deal_id", "entered_at"),
        sa.UniqueConstraint("source", "source_key"),
        {"schema": "app"},
    )

    deal_id: Mapped[int] = mapped_column(app_fk("sales_pipeline", "CASCADE"))
    stage_id: Mapped[int | None] = mapped_column(app_fk("pipeline_stages", "SET NULL"))
    stage_label: Mapped[str] = mapped_column(sa.Text, comment="the stage name at the time")
    amount: Mapped[float | None] = mapped_column(sa.Numeric(16, 2))
    probability: Mapped[int | None] = mapped_column(sa.Integer)
    entered_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    exited_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    changed_by: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"))
    source: Mapped[str | None] = mapped_column(sa.Text)
    source_key: Mapped[str | None] = mapped_column(sa.Text)


class Contract(IdMixin, TimestampMixin, SoftDeleteMixin, VersionMixin, Base):
    """The seed's smart_contracts: what a won deal turns into."""

    __tablename__ = "contracts"
    __table_args__ = (
        one_of("status", CONTRACT_STATUSES), one_of("payment_status", PAYMENT_STATUSES),
        sa.CheckConstraint("end_date is null or start_date is null or end_date >= start_date",
                           name="dates_ordered"),
        {"schema": "app"},
    )

    deal_id: Mapped[int] = mapped_column(app_fk("sales_pipeline"), unique=True)
    account_id: Mapped[int | None] = mapped_column(app_fk("accounts", "SET NULL"), index=True)
    status: Mapped[str] = mapped_column(sa.Text, server_default="draft")
    value: Mapped[Decimal | None] = mapped_column(Sealed("app.contracts.value", Decimal),
                                                  comment="sensitive: sealed (AES-GCM)")
    currency: Mapped[str] = mapped_column(sa.String(3), server_default="USD")
    start_date: Mapped[date | None] = mapped_column(sa.Date)
    end_date: Mapped[date | None] = mapped_column(sa.Date)
    terms: Mapped[dict] = mapped_column(server_default="{}")
    signed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    external_ref: Mapped[str | None] = mapped_column(sa.Text, comment="id in the financial system")
    payment_status: Mapped[str] = mapped_column(sa.Text, server_default="unpaid")
    amount_paid: Mapped[float | None] = mapped_column(sa.Numeric(16, 2))
    paid_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    payment_updated_at: Mapped[datetime | None] = mapped_column(
        sa.DateTime(timezone=True), comment="when the financial system says it changed")


TARGET_GRAINS = ("month", "quarter")


class SalesTarget(IdMixin, TimestampMixin, Base):
    """A bookings target for a month or a quarter: a rep's (user_id), a team's (team_id), or
    the company's (neither). Set through `salesops.domain.targets`, one row per period and
    whom it is for."""

    __tablename__ = "sales_targets"
    __table_args__ = (
        one_of("period_grain", TARGET_GRAINS),
        sa.CheckConstraint("num_nonnulls(team_id, user_id) <= 1", name="one_holder"),
        sa.CheckConstraint("amount >= 0", name="amount_valid"),
        sa.CheckConstraint("period_start = date_trunc(period_grain, period_start)::date",
                           name="period_start_valid"),
        sa.UniqueConstraint("period_grain", "period_start", "team_id", "user_id",
                            postgresql_nulls_not_distinct=True),
        {"schema": "app"},
    )

    period_grain: Mapped[str] = mapped_column(sa.Text)
    period_start: Mapped[date] = mapped_column(sa.Date, comment="the period's first day")
    team_id: Mapped[int | None] = mapped_column(app_fk("teams", "CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(app_fk("users", "CASCADE"), index=True)
    amount: Mapped[float] = mapped_column(sa.Numeric(16, 2),
                                          comment="bookings (won deal amounts) to reach")
    set_by: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"))
