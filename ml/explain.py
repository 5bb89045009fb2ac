"""Per-row feature contributions (SHAP) for a fitted `Pipeline(ColumnTransformer, trees)`.

SHAP's TreeExplainer gives exact Shapley values of the tree ensemble's raw output (log-odds)
for each encoded column; the columns one input feature was encoded into (e.g. its one-hot
columns) are summed back into that feature, which SHAP's additivity allows. For a
`CalibratedClassifierCV` the values are averaged over its fold models: calibration is a
monotone map of that raw output, so the ranking of reasons is the calibrated model's.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline


def _input_feature_of_each_column(prep: ColumnTransformer) -> list[str]:
    """For each output column of `prep`, the input column it came from."""
    owners: list[str] = []
    for _name, transformer, columns in prep.transformers_:
        if transformer == "drop" or len(columns) == 0:
            continue
        columns = list(columns)
        if transformer == "passthrough":
            owners.extend(columns)
            continue
        by_length = sorted(columns, key=len, reverse=True)
        for out in transformer.get_feature_names_out(columns):
            owner = next((c for c in by_length if out == c or out.startswith(f"{c}_")), None)
            if owner is None:
                raise ValueError(f"cannot tell which input column {out!r} came from")
            owners.append(owner)
    return owners


def tree_contributions(pipeline: Pipeline, X: pd.DataFrame) -> pd.DataFrame:
    """SHAP values (log-odds) per input feature: one row per row of X, one column per feature."""
    with warnings.catch_warnings():  # shap's plotting colours warn on import; we plot nothing
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap  # heavy (numba): imported only when explaining

    prep, model = pipeline[0], pipeline[-1]
    if len(pipeline) != 2 or not isinstance(prep, ColumnTransformer):
        raise TypeError("expected Pipeline([(name, ColumnTransformer), (name, tree model)])")
    encoded = np.asarray(prep.transform(X), dtype=float)
    if isinstance(model, CalibratedClassifierCV):
        trees = [cc.estimator for cc in model.calibrated_classifiers_]
    else:
        trees = [model]
    # exact (tree-path-dependent) values; SHAP's additivity self-check re-predicts every
    # row with each tree model and costs several times the explanation itself
    values = np.mean([np.asarray(shap.TreeExplainer(t).shap_values(encoded,
                                                                   check_additivity=False))
                      for t in trees], axis=0)
    if values.ndim == 3:  # (rows, columns, classes) from some explainers: keep the positive
        values = values[..., -1]
    owners = _input_feature_of_each_column(prep)
    per_column = pd.DataFrame(values, index=X.index, columns=range(values.shape[1]))
    grouped = per_column.T.groupby(np.asarray(owners), sort=False).sum().T
    return grouped.reindex(columns=[c for c in X.columns if c in grouped.columns])


def _plain(value):
    """A JSON-friendly scalar (numpy types unwrapped, NaN as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def top_reasons(contributions: pd.DataFrame, X: pd.DataFrame, k: int = 3) -> list[list[dict]]:
    """The k largest contributions by size per row, as
    `{"feature", "value", "contribution", "direction"}` dicts (direction "up" or "down")."""
    values = contributions.to_numpy()
    features = contributions.columns.to_numpy()
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    raw = X[list(features)].to_numpy(dtype=object)
    reasons = []
    for i, cols in enumerate(order):
        reasons.append([
            {"feature": str(features[j]), "value": _plain(raw[i, j]),
             "contribution": round(float(values[i, j]), 4),
             "direction": "up" if values[i, j] >= 0 else "down"}
            for j in cols])
    return reasons
