"""Score open leads with the champion model and write `ml.lead_scores` in one COPY."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ml import explain, monitoring, serving, store
from ml.lead_scoring import features
from ml.lead_scoring.model import MODEL_NAME, threads_for
from salesops import events
from salesops.automation.workflows import SCORE_CHANGED_TOPIC as SCORE_CHANGED
from salesops.db import get_engine

log = logging.getLogger(__name__)

#: Bands by score (0-100), best first: the one place these thresholds live.
BAND_THRESHOLDS: tuple[tuple[str, int], ...] = (("A", 75), ("B", 50), ("C", 25))
LOWEST_BAND = "D"
#: How many feature contributions each score keeps as its reasons.
N_REASONS = 3
#: A score that moves by at least this many points since the lead's last score emits
#: SCORE_CHANGED for its owner (`score(change_threshold=...)` overrides it).
SCORE_CHANGE_THRESHOLD = 10
#: Leads predicted, explained and sent to the server at a time.
SCORE_CHUNK_ROWS = 50_000
_SCORE_COLUMNS = ["lead_id", "score", "band", "probability", "reasons", "model_name",
                  "model_version", "mlflow_run_id"]


def band_for(scores) -> np.ndarray:
    """A/B/C/D for each score (vectorised)."""
    scores = np.asarray(scores)
    return np.select([scores >= threshold for _, threshold in BAND_THRESHOLDS],
                     [band for band, _ in BAND_THRESHOLDS], default=LOWEST_BAND)


@dataclass(frozen=True)
class ScoreRun:
    """What one scoring run did."""

    written: int
    #: Leads with no feature known at all: not scored (a score would be the base rate
    #: dressed up as a judgement of the lead), logged and returned for a follow-up.
    unscorable: list[int] = field(default_factory=list)
    #: `lead.score_changed` events emitted for owners.
    changes: int = 0
    model_version: str | None = None
    #: True when the tracking store was down and the last known champion served.
    fallback: bool = False
    #: The drift check of this run against the model's reference (ml.model_drift).
    drift: monitoring.DriftSummary = monitoring.DriftSummary(checked=False)


def _champion_model(database_url: str):
    """(model, version, run id, drift reference, fallback): the champion (ml.serving) and the
    drift reference its training run saved."""
    served = serving.champion(MODEL_NAME, database_url, f"salesops ml train {MODEL_NAME}")
    return (served.model, served.version, served.run_id, serving.drift_reference(served),
            served.fallback)


_PREVIOUS = sa.text(
    "select distinct on (s.lead_id) s.lead_id, s.score, s.band, l.owner_id"
    " from ml.lead_scores s join app.leads l on l.id = s.lead_id"
    " where s.lead_id = any(cast(:ids as bigint[]))"
    " order by s.lead_id, s.scored_at desc, s.id desc")


def _previous_scores(conn: sa.Connection, lead_ids) -> pd.DataFrame:
    """Each lead's latest score so far (and its owner): read before the new ones are written.
    The ids go as one array literal (adapting a million ints one by one takes seconds)."""
    ids = "{" + ",".join(map(str, np.asarray(lead_ids, dtype=np.int64).tolist())) + "}"
    return pd.DataFrame(conn.execute(_PREVIOUS, {"ids": ids}).all(),
                        columns=["lead_id", "previous", "previous_band", "owner_id"])


def _emit_changes(conn: sa.Connection, previous: pd.DataFrame, lead_ids, scores, bands,
                  version: str, run_id: str, threshold: int) -> int:
    """A `lead.score_changed` event, naming the owner, per lead whose score moved by at
    least `threshold` points since its `previous` score (a first score is no change)."""
    if previous.empty:
        return 0
    now = pd.DataFrame({"lead_id": np.asarray(lead_ids, dtype=np.int64), "score": scores,
                        "band": bands})
    moved = now.merge(previous, on="lead_id")
    moved = moved[(moved["score"] - moved["previous"]).abs() >= threshold]
    with Session(bind=conn) as session:
        for row in moved.itertuples(index=False):
            owner = None if pd.isna(row.owner_id) else int(row.owner_id)
            events.emit(session, SCORE_CHANGED, "lead", int(row.lead_id), {
                "lead_id": int(row.lead_id), "owner_id": owner,
                "previous_score": int(row.previous), "score": int(row.score),
                "change": int(row.score - row.previous), "previous_band": row.previous_band,
                "band": str(row.band), "model_name": MODEL_NAME, "model_version": version,
                "mlflow_run_id": run_id})
        session.flush()
    return len(moved)


def score(database_url: str, lead_ids: list[int] | None = None,
          change_threshold: int = SCORE_CHANGE_THRESHOLD) -> ScoreRun:
    """Score open leads (only `lead_ids` when given) with the champion and write
    ml.lead_scores, with a change event per lead whose score moved by `change_threshold`,
    and the run's drift against the model's reference in ml.model_drift."""
    model, version, run_id, reference, fallback = _champion_model(database_url)
    run = write_scores(get_engine(database_url), model, version, run_id, lead_ids,
                       change_threshold, reference)
    return replace(run, fallback=fallback)


def write_scores(engine: sa.Engine, model, version: str, run_id: str,
                 lead_ids: list[int] | None = None,
                 change_threshold: int = SCORE_CHANGE_THRESHOLD,
                 reference: dict | None = None,
                 drift_threshold: float | None = None) -> ScoreRun:
    """Read the open leads' features, predict, explain, and write ml.lead_scores (with the
    change events) in one transaction, for a given fitted model version; with the model's
    drift `reference`, and at least monitoring.MIN_ROWS leads, ml.model_drift as well
    (`drift_threshold` defaults to settings.drift_psi_threshold)."""
    frame = features.load_open(engine, lead_ids)
    unknown = features.nothing_known(frame)
    unscorable = [int(i) for i in frame.loc[unknown, "lead_id"]]
    if unscorable:
        log.warning("%d leads have no feature known and are not scored: %s", len(unscorable),
                    unscorable[:20])
    frame = frame[~unknown]
    if frame.empty:
        return ScoreRun(0, unscorable, 0, version)
    X = features.build(frame)
    lead_ids = frame["lead_id"].to_numpy()
    explainer = explain.tree_explainer(model)
    probability = np.empty(len(X))
    with engine.begin() as conn:
        previous = _previous_scores(conn, lead_ids)
        # chunk by chunk, so the server ingests one chunk while the next is computed and
        # the reasons' text of only one chunk is held at a time
        with store.copy_stream(conn, "ml.lead_scores", _SCORE_COLUMNS) as write:
            for start in range(0, len(X), SCORE_CHUNK_ROWS):
                part = X.iloc[start:start + SCORE_CHUNK_ROWS]
                # one pass gives both (predict_proba's exact values and the SHAP values)
                with threads_for(len(part)):
                    chunk, contributions = explainer.predict_and_explain(part)
                chunk = np.clip(chunk, 0.0, 1.0)
                probability[start:start + len(part)] = chunk
                scores = np.rint(chunk * 100).astype(int)
                write(pd.DataFrame({
                    "lead_id": lead_ids[start:start + len(part)], "score": scores,
                    "band": band_for(scores), "probability": chunk,
                    "reasons": explain.reasons_json(contributions, part, k=N_REASONS),
                    "model_name": MODEL_NAME, "model_version": version,
                    "mlflow_run_id": run_id}))
        scores = np.rint(probability * 100).astype(int)
        changes = _emit_changes(conn, previous, lead_ids, scores, band_for(scores), version,
                                run_id, change_threshold)
        drift = monitoring.check(conn, MODEL_NAME, version, run_id, reference, X,
                                 probability, drift_threshold)
    return ScoreRun(len(X), unscorable, changes, version, drift=drift)
