"""Train the lead-scoring model: evaluate on a time-based holdout (with a logistic-regression
baseline in the same MLflow run), log, register, and promote only a better model."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ml import monitoring, registry, store, tracking
from ml.lead_scoring import features, model
from ml.lead_scoring.evaluate import HOLDOUT_FRACTION, Evaluation, fit_and_evaluate
from ml.lead_scoring.model import MODEL_NAME
from ml.registry import TrainResult
from salesops.db import get_engine

#: The holdout metric that decides promotion (higher is better).
PROMOTION_METRIC = "roc_auc"


def train(database_url: str, artifacts_dir: Path,
          holdout_fraction: float = HOLDOUT_FRACTION) -> TrainResult:
    """Fit, evaluate, log and register a lead-scoring model; promote it if it is better.

    Raises NotEnoughData when marts.lead_features has too few closed leads or one outcome only.
    """
    tracking.configure(database_url, artifacts_dir)
    engine = get_engine(database_url)
    ev = fit_and_evaluate(features.load_training(engine), holdout_fraction)
    baseline_metrics = {f"baseline_{k}": v for k, v in ev.baseline_metrics.items()}
    evaluation = ev.record

    with mlflow.start_run(experiment_id=tracking.experiment_id(MODEL_NAME),
                          run_name=f"{MODEL_NAME} holdout {ev.cutoff:%Y-%m-%d}") as run:
        mlflow.log_params({
            **model.params(len(ev.X_train)), "calibration": ev.model[-1].method,
            "holdout_cutoff": ev.cutoff.isoformat(), "holdout_fraction": holdout_fraction,
            "n_train": len(ev.X_train), "n_holdout": len(ev.y_holdout),
            "source": features.SOURCE,
            "excluded_columns": ", ".join(ev.excluded) or "none",
        })
        mlflow.log_metrics({
            **ev.metrics, **baseline_metrics,
            "train_positive_rate": float(ev.y_train.mean()),
            "holdout_positive_rate": float(ev.y_holdout.mean()),
        })
        mlflow.log_dict(evaluation, "evaluation.json")
        mlflow.log_dict(ev.drift_reference, monitoring.REFERENCE_ARTIFACT)
        example = ev.X_train.head(5)
        version = tracking.log_classifier(ev.model, example, MODEL_NAME, model.SKOPS_TRUSTED_TYPES)
        run_id = run.info.run_id

    promotion = registry.promote(MODEL_NAME, version, PROMOTION_METRIC,
                                 ev.metrics[PROMOTION_METRIC], on_holdout=on_holdout(ev))
    client = tracking.client()
    client.set_model_version_tag(MODEL_NAME, version, "evaluation", json.dumps(evaluation))
    with engine.begin() as conn:
        store.record_metrics(conn, MODEL_NAME, version, run_id,
                             {**ev.metrics, **baseline_metrics}, dataset="holdout")
    return TrainResult(version=version, run_id=run_id, metrics=ev.metrics,
                       promoted=promotion.promoted, alias=promotion.alias,
                       baseline_metrics=ev.baseline_metrics, evaluation=evaluation)


def on_holdout(ev: Evaluation) -> registry.HoldoutComparison:
    """ROC AUC of the champion and of the new model on the holdout leads the champion did not
    learn from (created on or after its own holdout cutoff)."""
    def compare(champion, run) -> tuple[float, float] | None:
        cutoff = run.data.params.get("holdout_cutoff")
        unseen = (np.ones(len(ev.y_holdout), dtype=bool) if cutoff is None
                  else (ev.holdout_created_at >= pd.Timestamp(cutoff)).to_numpy())
        y = ev.y_holdout.to_numpy()[unseen]
        if len(np.unique(y)) < 2:
            return None
        theirs = champion.predict_proba(ev.X_holdout[unseen])[:, 1]
        return (float(roc_auc_score(y, theirs)),
                float(roc_auc_score(y, ev.holdout_probability[unseen])))
    return compare
