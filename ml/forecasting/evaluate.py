"""Rolling-origin backtest of monthly won revenue, against two baselines.

At each month start T (an origin) the model is trained on snapshots whose horizon ended
by T, the open pipeline at T is scored and simulated, and the month's forecast (P10/P50/P90)
is compared with what was actually won that month, in total, per team and per rep.

Baselines, computed at the same origins from the same data:
- stage-weighted pipeline: each open deal's amount times its stage's historical win rate
  within the horizon, counted in the month of its expected close date (entry date plus
  the median time to win so far; an overdue deal counts in month T);
- seasonal naive: what was won in the same month of the previous quarter (T - 3 months);
  a quarter, not a year, because sales books by quarter and exports rarely hold two years.

`salesops ml evaluate win_probability` backtests marts.deal_features; with `--data PATH
--mapping FILE` a CRM export read through its column mapping (history.from_file; `python -m
bench.forecast_backtest` does the same). The last line printed is the evaluation record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from ml.errors import NotEnoughData
from ml.forecasting import features, history, simulate
from ml.forecasting.features import HORIZON_MONTHS, add_months, month_start
from ml.forecasting.model import MODEL_NAME, StageTable, class_probabilities, fit
from ml.metrics import evaluation_record

#: Fewer labelled snapshot rows than this (or one outcome only) cannot train the model.
MIN_TRAINING_ROWS = 100
MIN_PER_OUTCOME = 10
SEASON_MONTHS = 3
LEVELS = ("total", "team", "rep")


def check_enough(y: np.ndarray, horizon: int = HORIZON_MONTHS) -> None:
    won = int((y < horizon).sum())
    if len(y) < MIN_TRAINING_ROWS or min(won, len(y) - won) < MIN_PER_OUTCOME:
        raise NotEnoughData(
            f"The win-probability model needs at least {MIN_TRAINING_ROWS} labelled snapshots "
            f"of open deals with at least {MIN_PER_OUTCOME} won and {MIN_PER_OUTCOME} not won "
            f"within {horizon} months; found {len(y)} ({won} won). Load more deal history "
            f"(at least {horizon + 1} months of closed deals).")


def fit_at(deals: history.DealHistory, until: pd.Timestamp):
    """Model and stage-table baseline trained on the snapshots labelled by `until`."""
    X, y, _ = features.training_set(deals, until)
    check_enough(y)
    model = fit(X, y)
    return model, StageTable().fit(X, y)


def expected_close_month_baseline(deals: history.DealHistory, snap: pd.DataFrame,
                                  as_of: pd.Timestamp) -> pd.Series:
    """The month offset a stage-weighted pipeline would count each open deal in."""
    d = deals.deals
    won = d[d["is_won"] & (d["closed_at"] < as_of)]
    cycle = (won["closed_at"] - won["created_at"]).median() if len(won) else pd.Timedelta(0)
    expected = snap["created_at"] + cycle
    return features.month_offset(expected.clip(lower=as_of), as_of)


@dataclass
class Backtest:
    rows: list[dict] = field(default_factory=list)   # one per origin, level and group
    deal_rows: list[pd.DataFrame] = field(default_factory=list)


def _actual(deals: history.DealHistory, start: pd.Timestamp, cells: pd.DataFrame) -> np.ndarray:
    return simulate._won_in_month(deals, start, pd.Timestamp.min, cells)


def backtest(deals: history.DealHistory, n_simulations: int = simulate.N_SIMULATIONS,
             progress=lambda message: None, last_origins: int | None = None) -> Backtest:
    """Forecast month T at every month start T that has a season behind it and a horizon of
    labelled snapshots before it (only the last `last_origins` of them when given)."""
    closed = deals.deals["closed_at"].dropna()
    if closed.empty:
        raise NotEnoughData(f"{deals.source}: no closed deals, nothing to backtest.")
    first, last = month_start(closed.min()), month_start(closed.max())
    start = add_months(first, max(HORIZON_MONTHS, SEASON_MONTHS))
    origins = list(pd.date_range(start, last, freq="MS"))[-(last_origins or 0):]
    if not origins:
        raise NotEnoughData(
            f"{deals.source}: closed deals span {first:%Y-%m} to {last:%Y-%m}; a backtest "
            f"needs at least {max(HORIZON_MONTHS, SEASON_MONTHS) + 1} months of them.")
    result = Backtest()
    cells = simulate.cells_of(deals)
    past_errors: dict[str, list[float]] = {level: [] for level in LEVELS}
    for i, origin in enumerate(origins, start=1):
        progress(f"origin {origin:%Y-%m} ({i}/{len(origins)})")
        model, table = fit_at(deals, origin)
        snap = features.snapshot(deals, origin)
        X = features.build(snap)
        probs = class_probabilities(model, X)
        base_probs = table.class_probabilities(X)
        bookings = simulate.simulate(deals, snap, probs, origin, n_simulations)
        actual = _actual(deals, origin, cells)
        seasonal = _actual(deals, add_months(origin, -SEASON_MONTHS), cells)
        # stage-weighted pipeline, per cell
        offset = expected_close_month_baseline(deals, snap, origin).to_numpy()
        weighted = np.where(offset == 0, snap["amount"].fillna(0) * (1 - base_probs[:, -1]), 0)
        stage_weighted = np.zeros(len(cells))
        np.add.at(stage_weighted, simulate._cell_index(snap, cells), weighted)
        errors_now: dict[str, list[float]] = {level: [] for level in LEVELS}
        for level, groups in _groups(cells).items():
            for name, members in groups.items():
                raw = bookings.total(members, [0])
                samples = simulate.calibrate(raw, past_errors[level])
                p10, p50, p90 = np.quantile(samples, simulate.QUANTILES)
                result.rows.append({
                    "origin": origin, "level": level, "group": name,
                    "actual": actual[members].sum(), "p10": p10, "p50": p50, "p90": p90,
                    "calibrated": len(past_errors[level]) >= simulate.MIN_PAST_ERRORS,
                    "stage_weighted": stage_weighted[members].sum(),
                    "seasonal_naive": seasonal[members].sum()})
                errors_now[level].append(
                    float(simulate.log_error(actual[members].sum(), raw.mean())))
        for level in LEVELS:  # this month has ended by the next origin
            past_errors[level].extend(errors_now[level])
        won_month0 = features.labels(deals, snap, origin) == 0
        result.deal_rows.append(pd.DataFrame({
            "origin": origin, "won_month0": won_month0, "p_model": probs[:, 0],
            "p_stage": base_probs[:, 0]}))
    return result


def _groups(cells: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    index = np.arange(len(cells))
    return {
        "total": {"all": index},
        "team": {str(t): index[cells["team"] == t] for t in cells["team"].unique()},
        "rep": {str(o): index[cells["owner"] == o] for o in cells["owner"].unique()},
    }


def mape(actual: pd.Series, forecast: pd.Series) -> float:
    """Mean absolute percentage error over rows with something won."""
    keep = actual > 0
    return float(np.mean(np.abs(forecast[keep] - actual[keep]) / actual[keep]))


def summarise(result: Backtest) -> tuple[dict, dict]:
    frame = pd.DataFrame(result.rows)
    metrics: dict[str, float] = {"origins": frame["origin"].nunique()}
    baseline: dict[str, float] = {}
    for level in ("total", "team"):
        part = frame[frame["level"] == level]
        metrics[f"mape_{level}"] = mape(part["actual"], part["p50"])
        baseline[f"stage_weighted_mape_{level}"] = mape(part["actual"], part["stage_weighted"])
        baseline[f"seasonal_naive_mape_{level}"] = mape(part["actual"], part["seasonal_naive"])
    frame["inside"] = (frame["actual"] >= frame["p10"]) & (frame["actual"] <= frame["p90"])
    for level in LEVELS:
        part = frame[frame["level"] == level]
        metrics[f"coverage_p10_p90_{level}"] = float(part["inside"].mean())
        metrics[f"intervals_{level}"] = len(part)
        calibrated = part[part["calibrated"]]
        if len(calibrated):
            metrics[f"coverage_p10_p90_{level}_calibrated"] = float(calibrated["inside"].mean())
            metrics[f"intervals_{level}_calibrated"] = len(calibrated)
    deals = pd.concat(result.deal_rows, ignore_index=True)
    y = deals["won_month0"].astype(int)
    metrics["deal_roc_auc_won_this_month"] = float(roc_auc_score(y, deals["p_model"]))
    metrics["deal_brier_won_this_month"] = float(brier_score_loss(y, deals["p_model"]))
    baseline["stage_table_roc_auc_won_this_month"] = float(roc_auc_score(y, deals["p_stage"]))
    baseline["stage_table_brier_won_this_month"] = float(brier_score_loss(y, deals["p_stage"]))
    return metrics, baseline


def evaluate(deals: history.DealHistory, n_simulations: int = simulate.N_SIMULATIONS,
             progress=lambda message: None, last_origins: int | None = None) -> dict:
    metrics, baseline = summarise(backtest(deals, n_simulations, progress, last_origins))
    data = f"{deals.source}: rolling-origin backtest of monthly won revenue"
    return evaluation_record(MODEL_NAME, data, metrics, baseline)

