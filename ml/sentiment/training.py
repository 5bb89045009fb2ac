"""Train the sentiment model on labelled text: evaluate on the holdout against VADER and
TF-IDF + logistic regression in the same MLflow run, register it, and promote it only when
its macro F1 beats the champion's."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import mlflow.sklearn
import sklearn
from mlflow.models import infer_signature

from ml import registry, store, tracking
from ml.registry import TrainResult
from ml.sentiment import data, model
from ml.sentiment.evaluate import (
    HOLDOUT_FRACTION,
    Evaluation,
    classification_metrics,
    fit_and_evaluate,
)
from ml.sentiment.model import MODEL_NAME
from salesops.db import get_engine

#: The holdout metric that decides promotion (higher is better).
PROMOTION_METRIC = "macro_f1"


def train(database_url: str, artifacts_dir: Path, data_path: Path,
          mapping: data.Mapping = data.Mapping(),
          holdout_fraction: float = HOLDOUT_FRACTION) -> TrainResult:
    tracking.configure(database_url, artifacts_dir)
    labelled = data.load(data_path, mapping)
    ev = fit_and_evaluate(labelled, holdout_fraction)
    with mlflow.start_run(experiment_id=tracking.experiment_id(MODEL_NAME),
                          run_name=f"{MODEL_NAME} {Path(labelled.source).name}") as run:
        mlflow.log_params({**model.params(), "data": labelled.source, "holdout": ev.holdout,
                           "holdout_fraction": holdout_fraction,
                           "n_train": len(ev.X_train), "n_holdout": ev.n_holdout})
        mlflow.log_metrics({**ev.metrics, **ev.baseline_metrics})
        mlflow.log_dict(ev.record, "evaluation.json")
        example = ev.X_train.head(5).rename("text")
        info = mlflow.sklearn.log_model(
            ev.model, name="model", registered_model_name=MODEL_NAME,
            signature=infer_signature(example, ev.model.predict_proba(example)),
            input_example=example.to_frame(), pyfunc_predict_fn="predict_proba",
            skops_trusted_types=model.SKOPS_TRUSTED_TYPES,
            pip_requirements=[f"scikit-learn=={sklearn.__version__}",
                              f"mlflow=={mlflow.__version__}", "skops", "vaderSentiment",
                              "wordllama"])
        run_id = run.info.run_id
    version = str(info.registered_model_version)
    promotion = registry.promote(MODEL_NAME, version, PROMOTION_METRIC,
                                 ev.metrics[PROMOTION_METRIC], on_holdout=on_holdout(ev))
    tracking.client().set_model_version_tag(MODEL_NAME, version, "evaluation",
                                            json.dumps(ev.record))
    with get_engine(database_url).begin() as conn:
        store.record_metrics(conn, MODEL_NAME, version, run_id,
                             {**ev.metrics, **ev.baseline_metrics}, dataset="holdout")
    return TrainResult(version=version, run_id=run_id, metrics=ev.metrics,
                       baseline_metrics=ev.baseline_metrics, promoted=promotion.promoted,
                       alias=promotion.alias, evaluation=ev.record)


def on_holdout(ev: Evaluation) -> registry.HoldoutComparison:
    """Macro F1 of the champion and of the new model on the new model's holdout texts."""
    def compare(champion, run) -> tuple[float, float]:
        theirs = classification_metrics(ev.y_holdout, champion.predict(ev.X_holdout))
        return theirs[PROMOTION_METRIC], ev.metrics[PROMOTION_METRIC]
    return compare
