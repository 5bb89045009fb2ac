"""Score open leads with the champion model and write `ml.lead_scores` in one COPY."""

from __future__ import annotations

import json
from functools import lru_cache

import mlflow
import mlflow.sklearn
import numpy as np

from ml import explain, registry, store, tracking
from ml.errors import NoChampion
from ml.lead_scoring import features
from ml.lead_scoring.model import MODEL_NAME, threads_for
from salesops.db import get_engine
from salesops.settings import get_settings

#: Bands by score (0-100), best first: the one place these thresholds live.
BAND_THRESHOLDS: tuple[tuple[str, int], ...] = (("A", 75), ("B", 50), ("C", 25))
LOWEST_BAND = "D"
#: How many feature contributions each score keeps as its reasons.
N_REASONS = 3

_COLUMNS = ("lead_id", "score", "band", "probability", "reasons", "model_name",
            "model_version", "mlflow_run_id")


def band_for(scores) -> np.ndarray:
    """A/B/C/D for each score (vectorised)."""
    scores = np.asarray(scores)
    return np.select([scores >= threshold for _, threshold in BAND_THRESHOLDS],
                     [band for band, _ in BAND_THRESHOLDS], default=LOWEST_BAND)


@lru_cache(maxsize=4)
def _load(tracking_uri: str, version: str, run_id: str):
    """The fitted pipeline of one registered version. A version's model never changes, so it
    is cached, keyed by store, version and run (a re-created registry reuses numbers)."""
    return mlflow.sklearn.load_model(f"models:/{MODEL_NAME}/{version}")


def score(database_url: str, lead_ids: list[int] | None = None) -> int:
    """Score open leads (only `lead_ids` when given) with the champion; rows written."""
    uri = tracking.configure(database_url, get_settings().artifacts_path)
    champion = registry.champion(MODEL_NAME)
    if champion is None:
        raise NoChampion(
            f"No '{registry.CHAMPION}' version of the {MODEL_NAME} model in the MLflow "
            f"registry ({tracking.describe_store(database_url)}): train one first "
            f"(`salesops ml train {MODEL_NAME}`).")
    engine = get_engine(database_url)
    frame = features.load_open(engine, lead_ids)
    if frame.empty:
        return 0
    model = _load(uri, str(champion.version), champion.run_id)
    X = features.build(frame)
    with threads_for(len(X)):
        probability = np.clip(model.predict_proba(X)[:, 1], 0.0, 1.0)
    scores = np.rint(probability * 100).astype(int)
    bands = band_for(scores)
    reasons = explain.top_reasons(explain.tree_contributions(model, X), X, k=N_REASONS)
    rows = (
        (int(lead_id), int(s), str(b), float(p), json.dumps(r), MODEL_NAME,
         str(champion.version), champion.run_id)
        for lead_id, s, b, p, r in zip(frame["lead_id"], scores, bands, probability, reasons,
                                       strict=True)
    )
    with engine.begin() as conn:
        return store.copy_rows(conn, "ml.lead_scores", _COLUMNS, rows)
