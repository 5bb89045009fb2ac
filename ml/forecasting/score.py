"""Forecast with the champion model and write `ml.forecasts` in one COPY.

Deal rows (level `deal`): win probability within the horizon, expected close date and
forecast category. Period rows, for each month of the horizon and each quarter the horizon
completes, at levels `total`, `team` and `rep`: P10/P50/P90 of bookings over all categories
(forecast_category null: what is already booked, open deals and business not in the
pipeline yet, simulated together), and per component: `closed`, the deal categories, and
`new_business` (deals created after as_of and won in the period). The components'
expected amounts add up to the all-category row's. Every row carries the as-of date, so
ml.forecast_accuracy can compare it with what was won.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ml import monitoring, serving, store
from ml.forecasting import features, history, simulate
from ml.forecasting.features import add_months, month_start
from ml.forecasting.model import MODEL_NAME, class_probabilities
from salesops.db import get_engine

_COLUMNS = ("as_of", "level", "deal_id", "period_start", "period_grain", "team_id", "owner_id",
            "win_probability", "expected_close_date", "p10", "p50", "p90", "expected_amount",
            "closed_amount", "forecast_category", "model_name", "model_version",
            "mlflow_run_id")

#: Past monthly forecasts (all categories) whose month has ended, per level, with the
#: actual and the expected amount of each component (pipeline, new business).
_PAST_ERRORS = """
select level, actual_pipeline_amount, actual_new_business_amount,
       expected_amount - expected_new_business_amount as expected_pipeline_amount,
       expected_new_business_amount
  from ml.forecast_accuracy
 where is_complete and period_grain = 'month' and model_name = :model
   and expected_amount is not null and expected_new_business_amount is not null
"""


def _id(value: str) -> int | None:
    return int(value) if value not in ("unknown", "", None) else None


def past_errors(engine: sa.Engine) -> dict[str, np.ndarray]:
    """Per level, one row per past monthly forecast: the log errors of its components."""
    with engine.connect() as conn:
        frame = pd.read_sql_query(sa.text(_PAST_ERRORS), conn, params={"model": MODEL_NAME})
    actual = ["actual_pipeline_amount", "actual_new_business_amount"]
    expected = ["expected_pipeline_amount", "expected_new_business_amount"]
    return {level: simulate.log_error(part[actual].astype(float).to_numpy(),
                                      part[expected].astype(float).to_numpy())
            for level, part in frame.groupby("level")}


def periods(as_of: pd.Timestamp, horizon: int) -> list[tuple[str, pd.Timestamp, list[int],
                                                           list[pd.Timestamp]]]:
    """(grain, start, month offsets simulated, earlier months already past) for each month of
    the horizon and each quarter that ends within it."""
    out = [("month", add_months(as_of, k), [k], []) for k in range(horizon)]
    current = month_start(as_of)
    quarter = pd.Timestamp(current.to_period("Q").start_time)
    while add_months(quarter, 2) <= add_months(current, horizon - 1):
        months = [add_months(quarter, i) for i in range(3)]
        offsets = [k for k in range(horizon) if add_months(as_of, k) in months]
        past = [m for m in months if m < current]
        out.append(("quarter", quarter, offsets, past))
        quarter = add_months(quarter, 3)
    return out


def period_rows(deals: history.DealHistory, bookings: simulate.Bookings,
                errors: dict[str, np.ndarray]) -> list[dict]:
    cells = bookings.cells
    index = np.arange(len(cells))
    groups = [("total", None, None, index)]
    groups += [("team", t, None, index[cells["team"] == t]) for t in cells["team"].unique()]
    groups += [("rep", t, o, index[(cells["owner"] == o) & (cells["team"] == t)])
               for t, o in zip(cells["team"], cells["owner"], strict=True)]
    rows = []
    horizon = bookings.existing.shape[1]
    for grain, start, offsets, past in periods(bookings.as_of, horizon):
        past_won = sum((simulate._won_in_month(deals, m, cells) for m in past),
                       np.zeros(len(cells)))
        for level, team, owner, members in groups:
            already = past_won[members].sum()
            closed = already + bookings.closed[np.ix_(offsets, members)].sum()
            parts = bookings.components(members, offsets)
            parts[:, 0] += already
            raw = parts.sum(axis=1)
            samples = simulate.calibrate(parts, simulate.errors_for(level, errors))
            base = {"level": level, "period_start": start.date(), "period_grain": grain,
                    "team_id": _id(team) if team is not None else None,
                    "owner_id": _id(owner) if owner is not None else None}
            rows.append({**base, "forecast_category": None, "expected_amount": raw.mean(),
                         "closed_amount": closed,
                         **dict(zip(("p10", "p50", "p90"),
                                    np.quantile(samples, simulate.QUANTILES), strict=True))})
            for category in ("closed", *simulate.CATEGORIES, simulate.NEW_BUSINESS):
                part = (np.full(len(raw), closed) if category == "closed"
                        else bookings.total(members, offsets, category))
                rows.append({**base, "forecast_category": category,
                             "expected_amount": part.mean(), "closed_amount": None,
                             **dict(zip(("p10", "p50", "p90"),
                                        np.quantile(part, simulate.QUANTILES), strict=True))})
    return rows


def score(database_url: str, as_of=None, n_simulations: int = simulate.N_SIMULATIONS) -> int:
    """Forecast every open deal and period as of `as_of` (default now); rows written. The
    open deals' features and win probabilities are checked for drift (ml.model_drift)."""
    champion = serving.champion(MODEL_NAME, database_url, f"salesops ml train {MODEL_NAME}")
    engine = get_engine(database_url)
    as_of = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now(tz=None)
    deals = history.from_marts(engine)
    snap = features.snapshot(deals, as_of)
    X = features.build(snap)
    probs = class_probabilities(champion.model, X)
    bookings = simulate.simulate(deals, snap, probs, as_of, n_simulations)

    win = 1 - probs[:, -1]
    deal_rows = [
        {"level": "deal", "deal_id": int(deal_id), "team_id": _id(team), "owner_id": _id(owner),
         "win_probability": float(p), "expected_close_date": close.date(),
         "forecast_category": str(category)}
        for deal_id, team, owner, p, close, category in zip(
            snap["deal_id"], snap["team"], snap["owner"], win,
            simulate.expected_close_dates(probs, as_of), simulate.category_for(win),
            strict=True)]
    rows = deal_rows + period_rows(deals, bookings, past_errors(engine))
    common = {"as_of": as_of.date(), "model_name": MODEL_NAME,
              "model_version": champion.version, "mlflow_run_id": champion.run_id}

    def values(row: dict) -> tuple:
        row = {**common, **row}
        return tuple(_plain(row.get(column)) for column in _COLUMNS)

    with engine.begin() as conn:
        written = store.copy_rows(conn, "ml.forecasts", _COLUMNS, map(values, rows))
        monitoring.check(conn, MODEL_NAME, champion.version, champion.run_id,
                         serving.drift_reference(champion), X, win)
    return written


def _plain(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 6)
    return value
