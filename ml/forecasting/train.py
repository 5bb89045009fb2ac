"""Train the win-probability model on marts.deal_features: fit on older snapshots, evaluate on
the newest ones (time-based holdout, stage-table baseline in the same MLflow run), refit on
every labelled snapshot, log, register, and promote only a better model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ml import monitoring, registry, store, tracking
from ml.errors import NotEnoughData
from ml.forecasting import features, history, model
from ml.forecasting.evaluate import check_enough
from ml.forecasting.features import HORIZON_MONTHS, add_months
from ml.forecasting.model import MODEL_NAME, StageTable, class_probabilities, fit
from ml.metrics import binary_metrics, evaluation_record
from ml.registry import TrainResult
from salesops.db import get_engine

#: The newest labelled snapshots (month starts) held out for evaluation.
HOLDOUT_SNAPSHOTS = 2
#: The holdout metric that decides promotion (higher is better).
PROMOTION_METRIC = "roc_auc"


@dataclass(frozen=True)
class Holdout:
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    cutoff: pd.Timestamp
    n_train: int
    n_holdout: int
    #: The held-out snapshots: features, whether won within the horizon, snapshot date, and
    #: the model's P(won within the horizon), to judge a champion on the same rows.
    X: pd.DataFrame
    won: np.ndarray
    dates: pd.Series
    probability: np.ndarray


def holdout_evaluation(X: pd.DataFrame, y: np.ndarray, dates: pd.Series,
                       snapshots: int = HOLDOUT_SNAPSHOTS) -> Holdout:
    """Fit on snapshots whose labels were all known at the first held-out snapshot; score
    P(won within the horizon) on the held-out ones."""
    distinct = sorted(dates.unique())
    if len(distinct) <= snapshots:
        raise NotEnoughData(
            f"The win-probability model needs more than {snapshots} months of labelled "
            f"pipeline snapshots to hold some out; found {len(distinct)}. Load more deal "
            "history.")
    cutoff = pd.Timestamp(distinct[-snapshots])
    train = (dates <= add_months(cutoff, -HORIZON_MONTHS)).to_numpy()
    hold = (dates >= cutoff).to_numpy()
    check_enough(y[train])
    check_enough(y[hold])
    fitted = fit(X[train], y[train])
    won = (y[hold] < HORIZON_MONTHS).astype(int)
    p_model = 1 - class_probabilities(fitted, X[hold])[:, -1]
    p_stage = 1 - StageTable().fit(X[train], y[train]).class_probabilities(X[hold])[:, -1]
    return Holdout(binary_metrics(won, p_model), binary_metrics(won, p_stage), cutoff,
                   int(train.sum()), int(hold.sum()), X[hold], won,
                   dates[hold].reset_index(drop=True), p_model)


def on_holdout(ev: Holdout) -> registry.HoldoutComparison:
    """ROC AUC of the champion and of the new model on the held-out snapshots the champion
    did not learn from: it was refit on every snapshot labelled by its `as_of`."""
    def compare(champion, run) -> tuple[float, float] | None:
        as_of = run.data.params.get("as_of")
        if as_of is None:
            return None
        seen_until = add_months(features.month_start(as_of), -HORIZON_MONTHS)
        unseen = (pd.to_datetime(ev.dates) > seen_until).to_numpy()
        won = ev.won[unseen]
        if len(np.unique(won)) < 2:
            return None
        theirs = 1 - class_probabilities(champion, ev.X[unseen])[:, -1]
        return (float(roc_auc_score(won, theirs)),
                float(roc_auc_score(won, ev.probability[unseen])))
    return compare


def train(database_url: str, artifacts_dir: Path, as_of=None) -> TrainResult:
    """Raises NotEnoughData when marts.deal_features has too little closed history."""
    tracking.configure(database_url, artifacts_dir)
    engine = get_engine(database_url)
    deals = history.from_marts(engine)
    as_of = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now(tz=None)
    X, y, dates = features.training_set(deals, as_of)
    check_enough(y)
    ev = holdout_evaluation(X, y, dates)
    final = fit(X, y)
    record = evaluation_record(
        MODEL_NAME, f"{deals.source}: snapshots from {ev.cutoff:%Y-%m-%d} (holdout), "
        f"won within {HORIZON_MONTHS} months", ev.metrics, ev.baseline_metrics)
    baseline_metrics = {f"baseline_{k}": v for k, v in ev.baseline_metrics.items()}

    with mlflow.start_run(experiment_id=tracking.experiment_id(MODEL_NAME),
                          run_name=f"{MODEL_NAME} holdout {ev.cutoff:%Y-%m-%d}") as run:
        mlflow.log_params({
            **model.params(), "calibration": final[-1].method,
            "holdout_cutoff": ev.cutoff.isoformat(), "holdout_snapshots": HOLDOUT_SNAPSHOTS,
            "n_train": ev.n_train, "n_holdout": ev.n_holdout, "n_final": len(X),
            "as_of": as_of.isoformat(), "source": deals.source,
        })
        mlflow.log_metrics({**ev.metrics, **baseline_metrics,
                            "won_within_horizon_rate": float((y < HORIZON_MONTHS).mean())})
        mlflow.log_dict(record, "evaluation.json")
        mlflow.log_dict(monitoring.reference_profile(X, ev.probability),
                        monitoring.REFERENCE_ARTIFACT)
        example = X.head(5)
        version = tracking.log_classifier(final, example, MODEL_NAME, model.SKOPS_TRUSTED_TYPES)
        run_id = run.info.run_id

    promotion = registry.promote(MODEL_NAME, version, PROMOTION_METRIC,
                                 ev.metrics[PROMOTION_METRIC], on_holdout=on_holdout(ev))
    tracking.client().set_model_version_tag(MODEL_NAME, version, "evaluation",
                                            json.dumps(record))
    with engine.begin() as conn:
        store.record_metrics(conn, MODEL_NAME, version, run_id,
                             {**ev.metrics, **baseline_metrics}, dataset="holdout")
    return TrainResult(version=version, run_id=run_id, metrics=ev.metrics,
                       promoted=promotion.promoted, alias=promotion.alias,
                       baseline_metrics=ev.baseline_metrics)
