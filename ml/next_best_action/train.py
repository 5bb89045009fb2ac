"""Train the next-best-action model: replay-evaluate on the newest decisions, refit on all,
log to MLflow, register, and promote only a model whose recommendations did better."""

from __future__ import annotations

from pathlib import Path

import mlflow
import mlflow.sklearn
import pandas as pd

from ml import monitoring, registry, store, tracking
from ml.next_best_action import history
from ml.next_best_action import model as nba
from ml.next_best_action.evaluate import (
    HOLDOUT_FRACTION,
    Replay,
    followed,
    progress_rate,
    replay,
)
from ml.next_best_action.model import MODEL_NAME
from ml.next_best_action.score import first_choice
from ml.registry import TrainResult
from salesops.db import get_engine

PROMOTION_METRIC = "progress_rate_when_recommended_action_taken"


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
                           "holdout_cutoff": ev.cutoff.isoformat(),
                           "until": until.isoformat()})
        mlflow.log_metrics({**ev.metrics, **{f"baseline_{k}": v for k, v in ev.baseline.items()}})
        mlflow.log_dict(drift_reference(points, ev), monitoring.REFERENCE_ARTIFACT)
        example = points[history.FEATURES].head(5)
        version = tracking.log_classifier(final, example, MODEL_NAME, nba.SKOPS_TRUSTED_TYPES)
        run_id = run.info.run_id
    promotion = registry.promote(MODEL_NAME, version, PROMOTION_METRIC,
                                 ev.metrics[PROMOTION_METRIC], on_holdout=on_holdout(ev))
    with engine.begin() as conn:
        store.record_metrics(conn, MODEL_NAME, version, run_id, ev.metrics, dataset="replay")
    return TrainResult(version=version, run_id=run_id, metrics=ev.metrics,
                       promoted=promotion.promoted, alias=promotion.alias,
                       baseline_metrics=ev.baseline)


def on_holdout(ev: Replay) -> registry.HoldoutComparison:
    """The progress rate when the champion's and the new model's first choice was taken, on
    the held-out decisions the champion did not learn from: it was refit on every decision
    whose outcome window had ended by its `until`."""
    def compare(champion, run) -> tuple[float, float] | None:
        until = run.data.params.get("until")
        if until is None:
            return None
        seen_until = pd.Timestamp(until) - pd.Timedelta(days=history.PROGRESS_DAYS)
        unseen = ev.holdout["t"] > seen_until
        hold, rules = ev.holdout[unseen], ev.rules[unseen.to_numpy()]
        theirs, ours = followed(champion, hold, rules), followed(ev.model, hold, rules)
        if not theirs.any() or not ours.any():
            return None
        return progress_rate(hold, theirs), progress_rate(hold, ours)
    return compare


def drift_reference(points: pd.DataFrame, ev: Replay) -> dict:
    """Drift reference: the features of every decision learned from, and the confidence of
    the first choice on the held-out ones (what scoring compares: see score.first_choice)."""
    probs = nba.action_probabilities(ev.model, ev.holdout[history.FEATURES].drop(
        columns="action"))
    return monitoring.reference_profile(points[history.MONITORED],
                                        first_choice(nba.rank(probs, ev.rules)))
