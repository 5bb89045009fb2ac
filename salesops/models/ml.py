"""The `ml` schema: every row names its model, version and MLflow run."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.orm import Mapped, mapped_column

from salesops.models.base import Base, IdMixin, one_of

#: What one ml.forecasts row is about: a deal, or a period's bookings of everyone, a team, a rep.
FORECAST_LEVELS = ("deal", "total", "team", "rep")


class _Scored(IdMixin):
    model_name: Mapped[str] = mapped_column(sa.Text)
    model_version: Mapped[str] = mapped_column(sa.Text)
    mlflow_run_id: Mapped[str] = mapped_column(sa.Text)
    scored_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                server_default=sa.func.now())


class LeadScore(_Scored, Base):
    """History is kept; the latest row per lead is the current score."""

    __tablename__ = "lead_scores"
    __table_args__ = (
        sa.CheckConstraint("score between 0 and 100", name="score_range"),
        sa.CheckConstraint("probability between 0 and 1", name="probability_range"),
        one_of("band", ("A", "B", "C", "D")),
        sa.Index(None, "lead_id", "scored_at"),
        {"schema": "ml"},
    )

    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("app.leads.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(sa.SmallInteger)
    band: Mapped[str] = mapped_column(sa.String(1))
    probability: Mapped[float] = mapped_column(sa.Float)
    #: json, not jsonb: COPY parses it 2-2.5x faster, and readers fetch the whole value.
    reasons: Mapped[list] = mapped_column(JSON, server_default="[]",
                                          comment="top feature contributions")


class Forecast(_Scored, Base):
    """Deal-level win probability (deal_id set) or period bookings P10/P50/P90 (deal_id null)."""

    __tablename__ = "forecasts"
    __table_args__ = (
        sa.CheckConstraint("win_probability is null or win_probability between 0 and 1",
                           name="probability_range"),
        sa.CheckConstraint("p10 is null or (p10 <= p50 and p50 <= p90)", name="quantiles_ordered"),
        one_of("level", FORECAST_LEVELS),
        sa.Index(None, "as_of", "period_start"),
        {"schema": "ml"},
    )

    as_of: Mapped[date] = mapped_column(sa.Date)
    deal_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("app.sales_pipeline.id", ondelete="CASCADE"), index=True)
    period_start: Mapped[date | None] = mapped_column(sa.Date)
    period_grain: Mapped[str | None] = mapped_column(sa.Text, comment="month or quarter")
    team_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    win_probability: Mapped[float | None] = mapped_column(sa.Float)
    expected_close_date: Mapped[date | None] = mapped_column(sa.Date)
    p10: Mapped[float | None] = mapped_column(sa.Numeric(16, 2))
    p50: Mapped[float | None] = mapped_column(sa.Numeric(16, 2))
    p90: Mapped[float | None] = mapped_column(sa.Numeric(16, 2))
    forecast_category: Mapped[str | None] = mapped_column(sa.Text)
    level: Mapped[str | None] = mapped_column(sa.Text, comment="deal, total, team or rep")
    expected_amount: Mapped[float | None] = mapped_column(sa.Numeric(16, 2))
    closed_amount: Mapped[float | None] = mapped_column(sa.Numeric(16, 2))


class NextBestAction(_Scored, Base):
    __tablename__ = "next_best_actions"
    __table_args__ = (sa.CheckConstraint("num_nonnulls(lead_id, deal_id) = 1", name="one_target"),
                      {"schema": "ml"})

    lead_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("app.leads.id", ondelete="CASCADE"), index=True)
    deal_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("app.sales_pipeline.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(sa.Text)
    expected_uplift: Mapped[float | None] = mapped_column(sa.Float)
    rationale: Mapped[str | None] = mapped_column(sa.Text)
    rank: Mapped[int | None] = mapped_column(sa.SmallInteger, comment="1 = best, per record")
    confidence: Mapped[float | None] = mapped_column(sa.Float,
                                                     comment="P(progress) after the action")
    template_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("app.communication_templates.id", ondelete="SET NULL"))


class SentimentAnalysis(_Scored, Base):
    __tablename__ = "sentiment_analysis"
    __table_args__ = (one_of("label", ("negative", "neutral", "positive")),
                      sa.CheckConstraint("score between -1 and 1", name="score_range"),
                      {"schema": "ml"})

    interaction_id: Mapped[int] = mapped_column(
        sa.ForeignKey("app.interactions.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(sa.Text)
    score: Mapped[float] = mapped_column(sa.Float)


class Attribution(_Scored, Base):
    """Data-driven attribution in the dbt attribution mart's long shape; each run replaces
    the rows (its history stays in MLflow)."""

    __tablename__ = "attribution"
    __table_args__ = (sa.Index(None, "model", "period"), {"schema": "ml"})

    model: Mapped[str] = mapped_column(sa.Text, comment="markov_order_1..3 or shapley")
    channel: Mapped[str] = mapped_column(sa.Text)
    campaign: Mapped[str | None] = mapped_column(sa.Text)
    period: Mapped[date] = mapped_column(sa.Date, comment="first day of the conversion month")
    conversions: Mapped[float] = mapped_column(sa.Float)
    revenue: Mapped[float] = mapped_column(sa.Numeric(16, 2))


class ModelMetric(IdMixin, Base):
    __tablename__ = "model_metrics"
    __table_args__ = (sa.Index(None, "model_name", "recorded_at"), {"schema": "ml"})

    model_name: Mapped[str] = mapped_column(sa.Text)
    model_version: Mapped[str] = mapped_column(sa.Text)
    mlflow_run_id: Mapped[str] = mapped_column(sa.Text)
    metric: Mapped[str] = mapped_column(sa.Text)
    value: Mapped[float] = mapped_column(sa.Float)
    dataset: Mapped[str | None] = mapped_column(sa.Text)
    recorded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                  server_default=sa.func.now())


#: What one ml.model_drift row measures: an input feature, or the model's output score.
DRIFT_KINDS = ("feature", "score")


class ModelDrift(IdMixin, Base):
    """Per scoring run: each feature's and the score's distribution against the reference
    saved with the model's training run, and its population stability index (PSI). The rows
    of one run share `checked_at` (the scoring transaction's time)."""

    __tablename__ = "model_drift"
    __table_args__ = (one_of("kind", DRIFT_KINDS),
                      sa.CheckConstraint("psi >= 0", name="psi_non_negative"),
                      sa.Index(None, "model_name", "checked_at"),
                      {"schema": "ml"})

    model_name: Mapped[str] = mapped_column(sa.Text)
    model_version: Mapped[str] = mapped_column(sa.Text)
    mlflow_run_id: Mapped[str] = mapped_column(sa.Text)
    checked_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                 server_default=sa.func.now())
    kind: Mapped[str] = mapped_column(sa.Text, comment="feature or score")
    feature: Mapped[str] = mapped_column(sa.Text, comment="the feature, or the score's name")
    psi: Mapped[float] = mapped_column(sa.Float)
    threshold: Mapped[float] = mapped_column(sa.Float, comment="the PSI that flags drift")
    drifted: Mapped[bool] = mapped_column(comment="psi >= threshold: flags the model")
    rows_reference: Mapped[int] = mapped_column(sa.Integer)
    rows_current: Mapped[int] = mapped_column(sa.Integer)
    reference_mean: Mapped[float | None] = mapped_column(sa.Float)
    current_mean: Mapped[float | None] = mapped_column(sa.Float)
    distribution: Mapped[dict] = mapped_column(
        comment="bins, and the reference and current share of rows in each")
