"""The lead-scoring estimators: a calibrated gradient-boosting model and its baseline."""

from __future__ import annotations

from contextlib import AbstractContextManager

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from ml.lead_scoring import features

#: The name in MLflow's model registry, the experiment, and ml.lead_scores.model_name.
MODEL_NAME = "lead_scoring"

RANDOM_STATE = 0
#: Categories seen fewer times than this in training are pooled as "infrequent".
MIN_CATEGORY_COUNT = 5
#: At most this many one-hot columns per categorical feature (the rest pooled).
MAX_CATEGORIES = 50
BOOSTING_PARAMS = {
    # shallow trees and a slow rate: lead histories are often only a few hundred rows
    "learning_rate": 0.05, "max_iter": 100, "max_depth": 3, "min_samples_leaf": 20,
    "l2_regularization": 1.0, "early_stopping": False, "random_state": RANDOM_STATE,
}
#: From this many training rows on, the trees learn at twice the rate, up to 150 of them,
#: and stop when a held-out 15 % of the rows has not improved for 30: the small-data
#: setting underfits there (X Education, 7,392 rows: ROC AUC 0.926 -> 0.931 on the holdout,
#: docs/benchmarks.md). Capped so scoring and explaining a million leads stays cheap.
MORE_TREES_FROM_ROWS = 5_000
MORE_TREES_PARAMS = {"learning_rate": 0.1, "max_iter": 150, "early_stopping": True,
                     "validation_fraction": 0.15, "n_iter_no_change": 30}
CALIBRATION_FOLDS = 3
#: Isotonic calibration needs plenty of rows; sigmoid (Platt) is safer below this.
ISOTONIC_MIN_ROWS = 2000

#: Below this many rows, gradient boosting runs on one OpenMP thread: on small data the
#: threads cost more than they save, and on a busy machine they spin (10x slower here).
SINGLE_THREAD_BELOW = 20_000

#: scikit-learn internals skops does not trust by default, reviewed for this pipeline: the
#: model files are written by `train()` into the project's own artifact store, and loading
#: them from there is as safe as loading anything else this process wrote.
SKOPS_TRUSTED_TYPES = [
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
]


def build_model(n_rows: int, categorical: list[str] | None = None,
                numeric: list[str] | None = None) -> Pipeline:
    """One-hot categories + calibrated HistGradientBoosting (NaN handled natively), on the
    given columns (the mart's features by default); other input columns are dropped.

    Kept to plain scikit-learn steps so the model saves with skops and SHAP's TreeExplainer
    reads its trees (ml.explain). A category never seen in training is scored as the pooled
    rare categories (or as none of the known ones), never as an error."""
    prep = ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="infrequent_if_exist",
                              min_frequency=MIN_CATEGORY_COUNT, max_categories=MAX_CATEGORIES,
                              sparse_output=False),
         features.CATEGORICAL if categorical is None else categorical),
        ("num", "passthrough", features.NUMERIC if numeric is None else numeric),
    ])
    method = "isotonic" if n_rows >= ISOTONIC_MIN_ROWS else "sigmoid"
    model = CalibratedClassifierCV(HistGradientBoostingClassifier(**boosting_params(n_rows)),
                                   method=method, cv=CALIBRATION_FOLDS)
    return Pipeline([("prep", prep), ("model", model)])


def boosting_params(n_rows: int) -> dict:
    """The gradient-boosting settings for a training set of `n_rows`."""
    return BOOSTING_PARAMS | (MORE_TREES_PARAMS if n_rows >= MORE_TREES_FROM_ROWS else {})


def build_baseline(categorical: list[str] | None = None,
                   numeric: list[str] | None = None) -> Pipeline:
    """Logistic regression on one-hot categories and scaled, signed log numbers."""
    prep = ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=MIN_CATEGORY_COUNT),
         features.CATEGORICAL if categorical is None else categorical),
        ("num", make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                              FunctionTransformer(_signed_log1p), StandardScaler()),
         features.NUMERIC if numeric is None else numeric),
    ])
    return Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=2000))])


def _signed_log1p(x):
    return np.sign(x) * np.log1p(np.abs(x))


def threads_for(n_rows: int) -> AbstractContextManager:
    """Limit OpenMP (HistGradientBoosting) to one thread for small inputs."""
    return threadpool_limits(limits=1 if n_rows < SINGLE_THREAD_BELOW else None,
                             user_api="openmp")


def params(n_rows: int) -> dict:
    """What to log to MLflow about the estimators trained on `n_rows`."""
    return {
        "model": "HistGradientBoostingClassifier + CalibratedClassifierCV",
        "calibration_folds": CALIBRATION_FOLDS,
        **{f"hgb_{k}": v for k, v in boosting_params(n_rows).items()},
        "baseline": "LogisticRegression", "features": ",".join(features.FEATURES),
    }
