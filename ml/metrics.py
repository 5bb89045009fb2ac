"""Evaluation metrics for binary classifiers, and the one-line evaluation record.

The record has the shape every model evaluation prints (DESIGN.md, Performance):
`{"eval": ..., "data": ..., "metrics": {...}, "baseline": {...}}`.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

#: Equal-width probability bins for the expected calibration error.
ECE_BINS = 10


def expected_calibration_error(y_true, p, bins: int = ECE_BINS) -> float:
    """Mean |observed rate - mean predicted probability| over equal-width bins, weighted by
    each bin's share of the rows."""
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(p, dtype=float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    counts = np.bincount(idx, minlength=bins)
    pred = np.bincount(idx, weights=p, minlength=bins)
    seen = np.bincount(idx, weights=y, minlength=bins)
    used = counts > 0
    gaps = np.abs(seen[used] - pred[used]) / counts[used]
    return float(np.sum(gaps * counts[used]) / len(p))


def binary_metrics(y_true, p) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision), Brier score and expected calibration error."""
    return {
        "roc_auc": float(roc_auc_score(y_true, p)),
        "pr_auc": float(average_precision_score(y_true, p)),
        "brier": float(brier_score_loss(y_true, p)),
        "ece": expected_calibration_error(y_true, p),
    }


def evaluation_record(name: str, data: str, metrics: dict[str, float],
                      baseline: dict, **details) -> dict:
    """The one-line record; `baseline` is one baseline's metrics or {name: metrics}, and
    `details` (excluded columns, split, row counts...) follow the four standard keys."""
    def rounded(d: dict) -> dict:
        return {k: rounded(v) if isinstance(v, dict) else round(float(v), 4)
                for k, v in d.items()}

    return {"eval": name, "data": data, "metrics": rounded(metrics),
            "baseline": rounded(baseline), **details}
