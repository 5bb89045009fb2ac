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
BOOSTING_PARAMS = {
    # shallow trees and a slow rate: lead histories are often only a few hundred rows
    "learning_rate": 0.05, "max_iter": 100, "max_depth": 3, "min_samples_leaf": 20,
    "l2_regularization": 1.0, "early_stopping": False, "random_state": RANDOM_STATE,
}
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


def build_model(n_rows: int) -> Pipeline:
    """One-hot categories + calibrated HistGradientBoosting (NaN handled natively).

    Kept to plain scikit-learn steps so the model saves with skops and SHAP's TreeExplainer
    reads its trees (ml.explain)."""
    prep = ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="infrequent_if_exist",
                              min_frequency=MIN_CATEGORY_COUNT, sparse_output=False),
         features.CATEGORICAL),
        ("num", "passthrough", features.NUMERIC),
    ])
    method = "isotonic" if n_rows >= ISOTONIC_MIN_ROWS else "sigmoid"
    model = CalibratedClassifierCV(HistGradientBoostingClassifier(**BOOSTING_PARAMS),
                                   method=method, cv=CALIBRATION_FOLDS)
    return Pipeline([("prep", prep), ("model", model)])


def build_baseline() -> Pipeline:
    """Logistic regression on one-hot categories and scaled log counts."""
    prep = ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=MIN_CATEGORY_COUNT),
         features.CATEGORICAL),
        ("num", make_pipeline(SimpleImputer(strategy="median"),
                              FunctionTransformer(np.log1p), StandardScaler()),
         features.NUMERIC),
    ])
    return Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=2000))])


def threads_for(n_rows: int) -> AbstractContextManager:
    """Limit OpenMP (HistGradientBoosting) to one thread for small inputs."""
    return threadpool_limits(limits=1 if n_rows < SINGLE_THREAD_BELOW else None,
                             user_api="openmp")


def params() -> dict:
    """What to log to MLflow about the estimators."""
    return {
        "model": "HistGradientBoostingClassifier + CalibratedClassifierCV",
        "calibration_folds": CALIBRATION_FOLDS,
        **{f"hgb_{k}": v for k, v in BOOSTING_PARAMS.items()},
        "baseline": "LogisticRegression", "features": ",".join(features.FEATURES),
    }
