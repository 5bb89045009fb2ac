"""Leakage guard: columns that are filled in after the outcome never become features.

Three checks, each reported with its reason (never a silent drop):

- declared: the mapping (`after_contact:`) names columns sales fills in after contacting a
  lead (a status tag, the rep's rating of the lead);
- timestamps: a date column dated after the lead was created, in more than
  `LATE_TIMESTAMP_SHARE` of the leads, was written later than the lead came in;
- predictiveness: a single column that alone separates converted from lost leads almost
  perfectly (cross-fitted single-column ROC AUC at or above `SUSPICIOUS_AUC`) is far more
  likely a record of the outcome than a cause of it.

The single-column AUC is cross-fitted (each row is encoded by the conversion rate of its
value in the other folds), so a column that is unique per lead scores about 0.5, not 1.0.
Numbers are cut into quantile bins first; missing is a value of its own, so a column that is
filled in only for converted leads is caught too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

#: A single column at or above this cross-fitted ROC AUC is excluded as leaking the outcome.
SUSPICIOUS_AUC = 0.90
#: A date column later than the lead's creation in more than this share of leads is excluded.
LATE_TIMESTAMP_SHARE = 0.05
_FOLDS = 5
_BINS = 20
#: Smoothing of the per-value conversion rate towards the overall rate (pseudo-rows).
_PRIOR_ROWS = 10
_MISSING = "\x00missing"


def _keys(values: pd.Series) -> pd.Series:
    """Each row's value as a category key: quantile bin for numbers, the text otherwise."""
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > _BINS:
        binned = pd.qcut(values, _BINS, labels=False, duplicates="drop")
        return binned.astype("Int64").astype(str).where(values.notna(), _MISSING)
    return values.astype(object).where(values.notna(), _MISSING).astype(str)


def single_column_auc(values: pd.Series, y: pd.Series, seed: int = 0) -> float:
    """Cross-fitted ROC AUC of one column alone (0.5 = no signal, 1.0 = the outcome itself)."""
    keys = _keys(values.reset_index(drop=True))
    target = pd.Series(np.asarray(y, dtype=float))
    encoded = np.empty(len(keys))
    folds = StratifiedKFold(_FOLDS, shuffle=True, random_state=seed)
    for fit_rows, held_rows in folds.split(np.zeros(len(keys)), target):
        prior = target.iloc[fit_rows].mean()
        stats = target.iloc[fit_rows].groupby(keys.iloc[fit_rows]).agg(["sum", "count"])
        rate = (stats["sum"] + _PRIOR_ROWS * prior) / (stats["count"] + _PRIOR_ROWS)
        encoded[held_rows] = keys.iloc[held_rows].map(rate).fillna(prior).to_numpy()
    auc = roc_auc_score(target, encoded)
    return float(max(auc, 1.0 - auc))


def too_predictive(X: pd.DataFrame, y: pd.Series, threshold: float | None = None
                   ) -> dict[str, str]:
    """Columns of X that alone predict y suspiciously well (at or above `threshold`, by
    default SUSPICIOUS_AUC), with the reason."""
    threshold = SUSPICIOUS_AUC if threshold is None else threshold
    found = {}
    for column in X.columns:
        auc = single_column_auc(X[column], y)
        if auc >= threshold:
            found[column] = (f"alone predicts the outcome with ROC AUC {auc:.3f} (>= "
                             f"{threshold}): most likely recorded after the outcome")
    return found


def late_timestamps(dates: pd.DataFrame, created: pd.Series | None,
                    share: float = LATE_TIMESTAMP_SHARE) -> dict[str, str]:
    """Date columns dated after the lead's creation too often (all of them, when the data
    has no creation time to compare with)."""
    found = {}
    for column in dates.columns:
        if created is None:
            found[column] = ("a date, and the data has no created_at to tell whether it was "
                             "known when the lead came in")
            continue
        known = dates[column].notna() & created.notna()
        late = float((dates.loc[known, column] > created[known]).mean()) if known.any() else 0.0
        if late > share:
            found[column] = (f"dated after the lead was created for {late:.0%} of leads: "
                             "filled in later")
    return found
