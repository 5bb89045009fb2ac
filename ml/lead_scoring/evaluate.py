"""Fit on a time-based split and evaluate on the holdout; the same numbers `train()` logs.

`python -m ml.lead_scoring.evaluate` prints the evaluation record for the current data
(DESIGN.md: `{"eval": ..., "data": ..., "metrics": {...}, "baseline": {...}}`) without
logging or registering anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from ml import monitoring
from ml.errors import NotEnoughData
from ml.lead_scoring import features, leakage
from ml.lead_scoring.model import MODEL_NAME, build_baseline, build_model, threads_for
from ml.metrics import binary_metrics, evaluation_record
from salesops.db import get_engine

#: The newest closed leads (by creation time) held out for evaluation.
HOLDOUT_FRACTION = 0.2
#: Too little data for a trustworthy model below these.
MIN_CLOSED_LEADS = 100
MIN_PER_OUTCOME = 20
MIN_PER_OUTCOME_PER_PERIOD = 5


@dataclass(frozen=True)
class Evaluation:
    model: Pipeline
    baseline: Pipeline
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    cutoff: pd.Timestamp
    X_train: pd.DataFrame
    y_train: pd.Series
    y_holdout: pd.Series
    X_holdout: pd.DataFrame
    holdout_probability: np.ndarray
    holdout_created_at: pd.Series
    excluded: dict[str, str] = field(default_factory=dict)

    @property
    def drift_reference(self) -> dict:
        """The reference profile for drift monitoring (ml.monitoring): the features of every
        closed lead the run saw, and the model's scores on the holdout."""
        return monitoring.reference_profile(pd.concat([self.X_train, self.X_holdout]),
                                            self.holdout_probability)

    @property
    def record(self) -> dict:
        data = f"{features.SOURCE}: closed leads created from {self.cutoff:%Y-%m-%d} (holdout)"
        return evaluation_record(MODEL_NAME, data, self.metrics,
                                 {"logistic_regression": self.baseline_metrics},
                                 excluded_columns=self.excluded)


def _outcomes(y: pd.Series) -> str:
    converted = int(y.sum())
    return f"{converted} converted, {len(y) - converted} not converted"


def check_enough(frame: pd.DataFrame, source: str = features.SOURCE) -> None:
    """Enough closed leads, and of both outcomes, to train and evaluate."""
    y = frame["converted"]
    converted, lost = int(y.sum()), int(len(y) - y.sum())
    if len(frame) < MIN_CLOSED_LEADS or min(converted, lost) < MIN_PER_OUTCOME:
        then = ("run dbt before training" if source == features.SOURCE
                else "bring a file with more of them")
        raise NotEnoughData(
            f"Lead scoring needs at least {MIN_CLOSED_LEADS} closed leads in "
            f"{source} with at least {MIN_PER_OUTCOME} of each outcome; found "
            f"{len(frame)} closed leads ({_outcomes(y)}). Load more history, or close more "
            f"leads, and {then}.")


def split_by_time(frame: pd.DataFrame, holdout_fraction: float = HOLDOUT_FRACTION
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Train on leads created before the cutoff, hold out those created at or after it."""
    created = pd.to_datetime(frame["created_at"], utc=True)
    cutoff = created.sort_values().iloc[int(len(created) * (1 - holdout_fraction))]
    train, holdout = frame[created < cutoff], frame[created >= cutoff]
    periods = ((train, f"training period (created before {cutoff:%Y-%m-%d})"),
               (holdout, f"holdout period (created on or after {cutoff:%Y-%m-%d})"))
    for part, period in periods:
        y = part["converted"]
        if min(int(y.sum()), int(len(y) - y.sum())) < MIN_PER_OUTCOME_PER_PERIOD:
            raise NotEnoughData(
                f"Lead scoring needs at least {MIN_PER_OUTCOME_PER_PERIOD} closed leads of "
                f"each outcome in the {period}; found {len(part)} ({_outcomes(y)}). Load "
                f"more history before training.")
    return train, holdout, cutoff


def fit_and_evaluate(frame: pd.DataFrame, holdout_fraction: float = HOLDOUT_FRACTION,
                     leakage_auc: float | None = None) -> Evaluation:
    """Closed leads (features.load_training) -> the fitted model, baseline and metrics.

    A feature that alone predicts the outcome suspiciously well on the training period is
    left out (ml.lead_scoring.leakage) and named in `excluded`."""
    check_enough(frame)
    train_rows, holdout_rows, cutoff = split_by_time(frame, holdout_fraction)
    X_train, y_train = features.build(train_rows), train_rows["converted"]
    X_hold, y_hold = features.build(holdout_rows), holdout_rows["converted"]
    excluded = leakage.too_predictive(X_train, y_train, leakage_auc)
    categorical = [c for c in features.CATEGORICAL if c not in excluded]
    numeric = [c for c in features.NUMERIC if c not in excluded]
    with threads_for(len(X_train)):
        model = build_model(len(X_train), categorical, numeric).fit(X_train, y_train)
        p_model = model.predict_proba(X_hold)[:, 1]
    baseline = build_baseline(categorical, numeric).fit(X_train, y_train)
    return Evaluation(
        model=model, baseline=baseline, metrics=binary_metrics(y_hold, p_model),
        baseline_metrics=binary_metrics(y_hold, baseline.predict_proba(X_hold)[:, 1]),
        cutoff=cutoff, X_train=X_train, y_train=y_train, y_holdout=y_hold, X_holdout=X_hold,
        holdout_probability=p_model,
        holdout_created_at=pd.to_datetime(holdout_rows["created_at"], utc=True), excluded=excluded)


def evaluate(database_url: str, leakage_auc: float | None = None,
             holdout_fraction: float = HOLDOUT_FRACTION) -> dict:
    """The evaluation record on the current data; nothing logged or registered."""
    frame = features.load_training(get_engine(database_url))
    return fit_and_evaluate(frame, holdout_fraction, leakage_auc).record


def main() -> None:
    from salesops.runtime import resolve_database
    from salesops.settings import get_settings

    database_url, _ = resolve_database(get_settings())
    print(json.dumps(evaluate(database_url)))


if __name__ == "__main__":
    main()
