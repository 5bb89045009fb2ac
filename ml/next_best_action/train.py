"""Train the next-best-action model: replay-evaluate on the newest decisions, refit on all,
log to MLflow, register, and promote only a model whose recommendations did better."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlflow
import mlflow.sklearn
import pandas as pd
import sklearn
from mlflow.models import infer_signature

from ml import registry, store, tracking
from ml.next_best_action import history
from ml.next_best_action import model as nba
from ml.next_best_action.evaluate import HOLDOUT_FRACTION, replay
from ml.next_best_action.model import MODEL_NAME
from salesops.db import get_engine

PROMOTION_METRIC = "progress_rate_when_recommended_action_taken"


@dataclass(frozen=True)
class TrainResult:
    version: str
    run_id: str
    metrics: dict[str, float]
    baseline: dict[str, float]
    alias: str


def train(database_url: str, artifacts_dir: Path, until=None) -> TrainResult:
    tracking.configure(database_url, artifacts_dir)
    engine = get_engine(database_url)
    records, actions, progress = history.load(engine)
    until = pd.Timestamp(until) if until is not None else pd.Timestamp.now(tz=None)
    points = history.decision_points(records, actions, progress, until)
    ev = replay(points, records)
    final = nba.fit(points)
    with mlflow.start_run(experiment_id=tracking.experiment_id(MODEL_NAME),
                          run_name=f"{MODEL_NAME} replay {ev.cutoff:%Y-%m-%d}") as run:
        mlflow.log_params({"model": "S-learner: HistGradientBoostingClassifier",
                           "features": ",".join(history.FEATURES),
                           "step_days": history.STEP_DAYS,
                           "progress_days": history.PROGRESS_DAYS,
                           "holdout_fraction": HOLDOUT_FRACTION, "n_decisions": len(points),
                           "holdout_cutoff": ev.cutoff.isoformat()})
        mlflow.log_metrics({**ev.metrics, **{f"baseline_{k}": v for k, v in ev.baseline.items()}})
        example = points[history.FEATURES].head(5)
        info = mlflow.sklearn.log_model(
            final, name="model", registered_model_name=MODEL_NAME,
            signature=infer_signature(example, final.predict_proba(example)),
            input_example=example, pyfunc_predict_fn="predict_proba",
            skops_trusted_types=nba.SKOPS_TRUSTED_TYPES,
            pip_requirements=[f"scikit-learn=={sklearn.__version__}",
                              f"mlflow=={mlflow.__version__}", "skops"])
        run_id = run.info.run_id
    version = str(info.registered_model_version)
    promotion = registry.promote(MODEL_NAME, version, PROMOTION_METRIC,
                                 ev.metrics[PROMOTION_METRIC])
    with engine.begin() as conn:
        store.record_metrics(conn, MODEL_NAME, version, run_id, ev.metrics, dataset="replay")
    return TrainResult(version, run_id, ev.metrics, ev.baseline, promotion.alias)
