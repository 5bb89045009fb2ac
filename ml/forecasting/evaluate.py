"""Rolling-origin backtest of monthly won revenue, against two baselines.

At each month start T (an origin) the model is trained on snapshots whose horizon ended
by T, the open pipeline at T is scored and simulated with the business not created yet,
and the forecasts (P10/P50/P90) of months T, T+1 and T+2 (horizons 1 to 3) are compared
with what was actually won in each, in total, per team and per rep: every origin and
horizon the data has an outcome for, so coverage rests on as many intervals as it can.
Past errors widen an interval only once the month they are about has ended by T.

Baselines, computed at the same origins from the same data:
- stage-weighted pipeline: each open deal's amount times its stage's historical win rate
  within the horizon, counted in the month of its expected close date (entry date plus
  the median time to win so far; an overdue deal counts in month T);
- seasonal naive: what was won in the same month of the previous quarter (3 months before
  the month forecast, so known at T for every horizon);
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
from ml.forecasting.simulate import LEVELS
from ml.metrics import evaluation_record

#: Fewer labelled snapshot rows than this (or one outcome only) cannot train the model.
MIN_TRAINING_ROWS = 100
MIN_PER_OUTCOME = 10
SEASON_MONTHS = 3


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
    rows: list[dict] = field(default_factory=list)   # one per origin, horizon, level, group
    deal_rows: list[pd.DataFrame] = field(default_factory=list)


@dataclass(frozen=True)
class PastError:
    level: str
    target: pd.Timestamp  # the month forecast
    errors: tuple[float, ...]  # one per simulate.COMPONENTS


def usable_errors(past: list[PastError], origin: pd.Timestamp
                  ) -> dict[str, list[tuple[float, ...]]]:
    """Per level, the errors of earlier forecasts (every horizon) whose month had ended by
    `origin`, as production reads them from ml.forecast_accuracy."""
    known: dict[str, list[tuple[float, ...]]] = {level: [] for level in LEVELS}
    for e in past:
        if e.target < origin:
            known[e.level].append(e.errors)
    return known


def _actual(deals: history.DealHistory, start: pd.Timestamp, cells: pd.DataFrame) -> np.ndarray:
    return simulate._won_in_month(deals, start, cells)


def backtest(deals: history.DealHistory, n_simulations: int = simulate.N_SIMULATIONS,
             progress=lambda message: None, last_origins: int | None = None) -> Backtest:
    """At every month start T that has a season behind it and a horizon of labelled snapshots
    before it (only the last `last_origins` of them when given), forecast months T, T+1 and
    T+2 (horizons 1..HORIZON_MONTHS) as far as the data has their outcome."""
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
    groups = _groups(cells)
    past: list[PastError] = []
    for i, origin in enumerate(origins, start=1):
        progress(f"origin {origin:%Y-%m} ({i}/{len(origins)})")
        model, table = fit_at(deals, origin)
        snap = features.snapshot(deals, origin)
        X = features.build(snap)
        probs = class_probabilities(model, X)
        base_probs = table.class_probabilities(X)
        bookings = simulate.simulate(deals, snap, probs, origin, n_simulations)
        # stage-weighted pipeline: amount x win rate, in the month of the expected close
        offset = expected_close_month_baseline(deals, snap, origin).to_numpy()
        weighted = snap["amount"].fillna(0).to_numpy() * (1 - base_probs[:, -1])
        deal_cell = simulate._cell_index(snap, cells)
        for k in range(HORIZON_MONTHS):
            target = add_months(origin, k)
            if target > last:
                break
            actual = simulate.won_by_component(deals, target, cells, origin)
            seasonal = _actual(deals, add_months(target, -SEASON_MONTHS), cells)
            stage_weighted = np.zeros(len(cells))
            np.add.at(stage_weighted, deal_cell, np.where(offset == k, weighted, 0.0))
            known = usable_errors(past, origin)
            for level, by_name in groups.items():
                errors = simulate.errors_for(level, known)
                for name, members in by_name.items():
                    parts = bookings.components(members, [k])
                    samples = simulate.calibrate(parts, errors)
                    p10, p50, p90 = np.quantile(samples, simulate.QUANTILES)
                    expected = parts.mean(axis=0)
                    won = actual[members].sum(axis=0)
                    result.rows.append({
                        "origin": origin, "horizon": k + 1, "level": level, "group": name,
                        "actual": won.sum(), "p10": p10, "p50": p50, "p90": p90,
                        "calibrated": len(errors) >= simulate.MIN_PAST_ERRORS,
                        "expected_pipeline": expected[0], "actual_pipeline": won[0],
                        "new_business": expected[1], "actual_new_business": won[1],
                        "stage_weighted": stage_weighted[members].sum(),
                        "seasonal_naive": seasonal[members].sum()})
                    past.append(PastError(level, target, tuple(
                        float(e) for e in simulate.log_error(won, expected))))
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


#: Weights of the model's P50 tried for the blend with seasonal naive.
BLEND_WEIGHTS = np.linspace(0, 1, 11)


def blended_p50(frame: pd.DataFrame) -> pd.Series:
    """w x the model's P50 + (1 - w) x seasonal naive, w (a BLEND_WEIGHTS) the weight with
    the lowest MAPE over the same level's earlier forecasts whose month had ended by the
    origin (at least MIN_PAST_ERRORS of them; the model alone before that): a forecast
    combination learned only from before the origin."""
    target = [add_months(o, h - 1) for o, h in zip(frame["origin"], frame["horizon"],
                                                  strict=True)]
    frame = frame.assign(target=target)
    out = frame["p50"].astype(float).copy()
    for (level, origin), rows in frame.groupby(["level", "origin"]):
        past = frame[(frame["level"] == level) & (frame["target"] < origin)
                     & (frame["actual"] > 0)]
        if len(past) < simulate.MIN_PAST_ERRORS:
            continue
        w = min(BLEND_WEIGHTS, key=lambda w: mape(
            past["actual"], w * past["p50"] + (1 - w) * past["seasonal_naive"]))
        out[rows.index] = w * rows["p50"] + (1 - w) * rows["seasonal_naive"]
    return out


def _coverage(part: pd.DataFrame, suffix: str, metrics: dict[str, float]) -> None:
    metrics[f"coverage_p10_p90_{suffix}"] = float(part["inside"].mean())
    metrics[f"intervals_{suffix}"] = len(part)
    calibrated = part[part["calibrated"]]
    if len(calibrated):
        metrics[f"coverage_p10_p90_{suffix}_calibrated"] = float(calibrated["inside"].mean())
        metrics[f"intervals_{suffix}_calibrated"] = len(calibrated)


def summarise(result: Backtest) -> tuple[dict, dict]:
    """MAPE (total, team; of the P50 and of its blend with seasonal naive, `_blend`) and
    P10-P90 coverage (total, team, rep), over every horizon and per horizon (suffix `_h1`
    .. `_h3`), with the number of intervals behind each."""
    frame = pd.DataFrame(result.rows)
    frame["inside"] = (frame["actual"] >= frame["p10"]) & (frame["actual"] <= frame["p90"])
    frame["blend"] = blended_p50(frame)
    metrics: dict[str, float] = {"origins": frame["origin"].nunique()}
    baseline: dict[str, float] = {}
    horizons = sorted(frame["horizon"].unique())
    for level in LEVELS:
        at_level = frame[frame["level"] == level]
        parts = [("", at_level)] + [(f"_h{h}", at_level[at_level["horizon"] == h])
                                    for h in horizons]
        for suffix, part in parts:
            if level != "rep":  # a rep's month often books nothing: no percentage error
                metrics[f"mape_{level}{suffix}"] = mape(part["actual"], part["p50"])
                baseline[f"stage_weighted_mape_{level}{suffix}"] = mape(
                    part["actual"], part["stage_weighted"])
                baseline[f"seasonal_naive_mape_{level}{suffix}"] = mape(
                    part["actual"], part["seasonal_naive"])
                metrics[f"mape_{level}{suffix}_blend"] = mape(part["actual"], part["blend"])
            _coverage(part, f"{level}{suffix}", metrics)
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

