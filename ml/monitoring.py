"""Model monitoring: feature drift and the score distribution of a scoring run.

Training saves a reference profile with the model's MLflow run (`REFERENCE_ARTIFACT`): per
feature the bins of its distribution on the rows the run learned from (deciles of a number,
with a bin for missing values; the most frequent categories and "(other)"), and the share of
rows in each bin; the score's bins come from the model's scores on the holdout. Each scoring
run then counts the rows it just scored into the same bins and measures the population
stability index of every feature and of the score,

    PSI = sum over bins of (current share - reference share) * ln(current / reference),

which is about 0 for the same distribution; at or above the threshold (settings
`drift_psi_threshold`, 0.2 by default: the usual "significant shift") the row is `drifted`
and the model is flagged. A handful of lines of numpy: monitoring libraries (evidently,
nannyml) bring far larger dependency trees for the same number.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ml import store

log = logging.getLogger(__name__)

#: The artifact of a training run that holds its reference profile.
REFERENCE_ARTIFACT = "drift_reference.json"
#: Quantile bins of a number (deciles), and the most categories kept apart.
N_BINS = 10
MAX_CATEGORIES = 20
OTHER = "(other)"
MISSING = "(missing)"
#: The name of the score's row (kind "score").
SCORE = "probability"
#: A share of 0 is floored at this, so a bin empty on one side gives a large, finite PSI.
EPSILON = 1e-4
#: Below this many scored rows the PSI is mostly sampling noise: no drift check is made.
MIN_ROWS = 200

_COLUMNS = ("model_name", "model_version", "mlflow_run_id", "kind", "feature", "psi",
            "threshold", "drifted", "rows_reference", "rows_current", "reference_mean",
            "current_mean", "distribution")


def _numeric_bins(values: np.ndarray) -> dict:
    known = values[~np.isnan(values)]
    edges = (np.unique(np.quantile(known, np.linspace(0, 1, N_BINS + 1)[1:-1]))
             if known.size else np.array([]))
    return {"type": "numeric", "edges": [float(e) for e in edges]}


def _categorical_bins(values: pd.Series) -> dict:
    counts = values.astype(object).where(values.notna(), MISSING).astype(str).value_counts()
    return {"type": "categorical", "categories": list(counts.index[:MAX_CATEGORIES])}


def _labels(bins: dict) -> list[str]:
    if bins["type"] == "categorical":
        return [*bins["categories"], OTHER]
    edges = bins["edges"]
    if not edges:
        return ["(any)", MISSING]
    inner = [f"({a:g}, {b:g}]" for a, b in zip(edges, edges[1:], strict=False)]
    return [f"<= {edges[0]:g}", *inner, f"> {edges[-1]:g}", MISSING]


def _shares(bins: dict, values) -> np.ndarray:
    """The share of `values` in each bin of `bins` (vectorised: one pass of counting)."""
    if bins["type"] == "categorical":
        series = pd.Series(values, dtype=object)
        text = series.where(series.notna(), MISSING).astype(str)
        codes = pd.Categorical(text, categories=bins["categories"]).codes.astype(np.int64)
        codes[codes < 0] = len(bins["categories"])  # not a kept category: "(other)"
        n_bins = len(bins["categories"]) + 1
    else:
        x = np.asarray(values, dtype=float)
        edges = np.asarray(bins["edges"], dtype=float)
        codes = np.searchsorted(edges, x, side="left")  # bin i holds edges[i-1] < x <= edges[i]
        n_bins = len(edges) + 2
        codes[np.isnan(x)] = n_bins - 1
    counts = np.bincount(codes, minlength=n_bins).astype(float)
    return counts / max(counts.sum(), 1.0)


def psi(reference: Sequence[float], current: Sequence[float]) -> float:
    """Population stability index of two share vectors over the same bins."""
    r = np.maximum(np.asarray(reference, dtype=float), EPSILON)
    c = np.maximum(np.asarray(current, dtype=float), EPSILON)
    return float(np.sum((c - r) * np.log(c / r)))  # every term is >= 0


def _mean(values) -> float | None:
    x = np.asarray(values, dtype=float)
    return float(np.nanmean(x)) if np.isfinite(x).any() else None


def _profile_of(values, numeric: bool) -> dict:
    bins = _numeric_bins(np.asarray(values, dtype=float)) if numeric else \
        _categorical_bins(pd.Series(values))
    return {**bins, "shares": _shares(bins, values).tolist(),
            "mean": _mean(values) if numeric else None}


def reference_profile(X: pd.DataFrame, scores) -> dict:
    """The reference a training run saves: each feature of X (the rows it learned from) and
    the model's `scores` (on its holdout), binned, with the share of rows in each bin."""
    return {
        "rows": len(X), "score_rows": len(scores),
        "features": {str(c): _profile_of(X[c], pd.api.types.is_numeric_dtype(X[c]))
                     for c in X.columns},
        "score": _profile_of(scores, numeric=True),
    }


@dataclass(frozen=True)
class Drift:
    """One feature's (or the score's) distribution now against the reference."""

    kind: str
    feature: str
    psi: float
    threshold: float
    rows_reference: int
    rows_current: int
    reference_mean: float | None
    current_mean: float | None
    distribution: dict

    @property
    def drifted(self) -> bool:
        return self.psi >= self.threshold


def _measure(kind: str, name: str, ref: dict, rows_reference: int, values,
             threshold: float) -> Drift:
    current = _shares(ref, values)
    labels = _labels(ref)
    return Drift(kind, name, round(psi(ref["shares"], current), 6), threshold, rows_reference,
                 len(values), ref["mean"], _mean(values) if ref["type"] == "numeric" else None,
                 {"bins": labels, "reference": [round(s, 6) for s in ref["shares"]],
                  "current": [round(float(s), 6) for s in current]})


def compare(reference: dict, X: pd.DataFrame, scores, threshold: float) -> list[Drift]:
    """Each feature of the reference, and the score, measured on the rows just scored.

    A feature the reference has and X lacks is a caller's bug: it raises."""
    missing = set(reference["features"]) - set(X.columns)
    if missing:
        raise ValueError(f"the rows to monitor lack the reference's features {sorted(missing)}")
    drifts = [_measure("feature", name, ref, reference["rows"], X[name], threshold)
              for name, ref in reference["features"].items()]
    drifts.append(_measure("score", SCORE, reference["score"], reference["score_rows"],
                           np.asarray(scores, dtype=float), threshold))
    return drifts


def record(conn: sa.Connection, model_name: str, model_version: str, run_id: str,
           drifts: list[Drift]) -> int:
    """Write one ml.model_drift row per measured feature (and the score), by COPY, in the
    caller's transaction (so the rows share its `checked_at`)."""
    rows = ((model_name, model_version, run_id, d.kind, d.feature, d.psi, d.threshold,
             d.drifted, d.rows_reference, d.rows_current, _finite(d.reference_mean),
             _finite(d.current_mean), json.dumps(d.distribution)) for d in drifts)
    return store.copy_rows(conn, "ml.model_drift", _COLUMNS, rows)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class DriftSummary:
    """What a scoring run's drift check found, for logs and asset metadata."""

    checked: bool
    max_feature_psi: float | None = None
    score_psi: float | None = None
    drifted: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        return bool(self.drifted)


def summarise(drifts: list[Drift]) -> DriftSummary:
    features = [d.psi for d in drifts if d.kind == "feature"]
    score = next((d.psi for d in drifts if d.kind == "score"), None)
    return DriftSummary(True, max(features) if features else None, score,
                        tuple(d.feature for d in drifts if d.drifted))


def check(conn: sa.Connection, model_name: str, model_version: str, run_id: str,
          reference: dict | None, X: pd.DataFrame, scores,
          threshold: float | None = None) -> DriftSummary:
    """A scoring run's drift check: measure the rows just scored against the model's
    reference and record it in ml.model_drift (in the caller's transaction). Nothing is
    checked without a reference (a run trained before monitoring) or below MIN_ROWS rows.
    `threshold` defaults to settings.drift_psi_threshold; a flagged model is logged."""
    if reference is None or len(X) < MIN_ROWS:
        return DriftSummary(checked=False)
    from salesops.settings import get_settings

    threshold = threshold or get_settings().drift_psi_threshold
    drifts = compare(reference, X, scores, threshold)
    record(conn, model_name, model_version, run_id, drifts)
    summary = summarise(drifts)
    if summary.flagged:
        log.warning("%s version %s: drift past PSI %.2f in %s", model_name, model_version,
                    threshold, ", ".join(summary.drifted))
    return summary


#: The latest drift check of a model: its rows.
LATEST_CHECK = sa.text(
    "select feature, kind, psi, threshold, drifted, model_version, checked_at"
    " from ml.model_drift where model_name = :m"
    " and checked_at = (select max(checked_at) from ml.model_drift where model_name = :m)"
    " order by psi desc")


def latest_check(conn: sa.Connection, model_name: str) -> pd.DataFrame:
    """The rows of `model_name`'s latest drift check, largest PSI first (empty if none)."""
    result = conn.execute(LATEST_CHECK, {"m": model_name})
    return pd.DataFrame(result.all(), columns=list(result.keys()))
