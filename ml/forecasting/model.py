"""The win-timing model: calibrated gradient boosting over the month a deal is won in, and the
stage-table baseline it has to beat."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

from ml.forecasting import features

#: The name in MLflow's model registry, the experiment, and ml.forecasts.model_name.
MODEL_NAME = "win_probability"

RANDOM_STATE = 0
MIN_CATEGORY_COUNT = 5
BOOSTING_PARAMS = {
    "learning_rate": 0.05, "max_iter": 150, "max_depth": 4, "min_samples_leaf": 30,
    "l2_regularization": 1.0, "early_stopping": False, "random_state": RANDOM_STATE,
}
CALIBRATION_FOLDS = 3
ISOTONIC_MIN_ROWS = 5000

#: scikit-learn internals skops does not trust by default, reviewed for this pipeline (the
#: files are written by `train()` into the project's own artifact store).
SKOPS_TRUSTED_TYPES = [
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn.model_selection._split.StratifiedKFold",
]


def one_thread():
    """OpenMP (HistGradientBoosting) on one thread: pipelines of a few thousand deals gain
    nothing from threads, and on a busy machine the threads spin (minutes instead of
    seconds here)."""
    return threadpool_limits(limits=1, user_api="openmp")


def fit(X: pd.DataFrame, y: np.ndarray) -> Pipeline:
    with one_thread():
        return build_model(len(X)).fit(X, y)


def build_model(n_rows: int) -> Pipeline:
    prep = ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="infrequent_if_exist",
                              min_frequency=MIN_CATEGORY_COUNT, sparse_output=False),
         features.CATEGORICAL),
        ("num", "passthrough", features.NUMERIC),
    ])
    method = "isotonic" if n_rows >= ISOTONIC_MIN_ROWS else "sigmoid"
    # shuffled folds: snapshots come in time order, and unshuffled folds would calibrate each
    # model on other months only (month-of-quarter effects then calibrate away)
    folds = StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=RANDOM_STATE)
    model = CalibratedClassifierCV(HistGradientBoostingClassifier(**BOOSTING_PARAMS),
                                   method=method, cv=folds)
    return Pipeline([("prep", prep), ("model", model)])


def class_probabilities(model, X: pd.DataFrame,
                        horizon: int = features.HORIZON_MONTHS) -> np.ndarray:
    """(rows, horizon + 1): P(won in month k) for k < horizon, then P(not won within it);
    classes the training data never showed get probability 0."""
    out = np.zeros((len(X), horizon + 1))
    if len(X):
        with one_thread():
            out[:, np.asarray(model.classes_, dtype=int)] = model.predict_proba(X)
    return out / out.sum(axis=1, keepdims=True).clip(min=1e-12)


class StageTable:
    """The baseline: each stage's historical share of deals won in month k (a stage table,
    the way a CRM's stage probabilities work), the overall share for an unseen stage."""

    def fit(self, X: pd.DataFrame, y: np.ndarray, horizon: int = features.HORIZON_MONTHS
            ) -> StageTable:
        onehot = np.eye(horizon + 1)[y]
        frame = pd.DataFrame(onehot, index=X.index).assign(stage=X["stage"].to_numpy())
        self.table_ = frame.groupby("stage").mean()
        self.overall_ = onehot.mean(axis=0)
        return self

    def class_probabilities(self, X: pd.DataFrame) -> np.ndarray:
        table = self.table_.reindex(X["stage"].to_numpy())
        return np.where(table.isna().to_numpy(), self.overall_, table.to_numpy())


def params() -> dict:
    return {
        "model": "HistGradientBoostingClassifier (multiclass: month won) + CalibratedClassifierCV",
        "calibration_folds": CALIBRATION_FOLDS, "horizon_months": features.HORIZON_MONTHS,
        **{f"hgb_{k}": v for k, v in BOOSTING_PARAMS.items()},
        "baseline": "stage table", "features": ",".join(features.FEATURES),
    }
