"""Score interactions with the champion sentiment model, write `ml.sentiment_analysis` in
COPY batches, then alert on contacts and accounts whose sentiment dropped.

Every interaction with a subject or body is scored once per model version (re-runs only
score what is new); calls and meetings without notes have no text to read and get no row.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import sqlalchemy as sa

from ml import registry, store, tracking
from ml.errors import NoChampion
from ml.sentiment import trends
from ml.sentiment.model import MODEL_NAME, signed_score
from salesops.db import get_engine
from salesops.settings import get_settings

BATCH_ROWS = 50_000
_COLUMNS = ("interaction_id", "label", "score", "model_name", "model_version",
            "mlflow_run_id")

_UNSCORED = """
    select i.id, concat_ws(E'\\n', nullif(btrim(i.subject), ''), nullif(btrim(i.body), ''))
        as text
    from app.interactions as i
    where i.deleted_at is null
      and coalesce(nullif(btrim(i.subject), ''), nullif(btrim(i.body), '')) is not null
      and not exists (
        select 1 from ml.sentiment_analysis as s
        where s.interaction_id = i.id and s.model_name = :model and s.model_version = :version)
"""


@dataclass(frozen=True)
class ScoreResult:
    rows: int
    alerts: int
    version: str


@lru_cache(maxsize=4)
def _load(tracking_uri: str, version: str, run_id: str):
    """The pipeline of one registered version (cached: a version never changes). The
    types skops may trust were saved with it (model.SKOPS_TRUSTED_TYPES)."""
    return mlflow.sklearn.load_model(f"models:/{MODEL_NAME}/{version}")


def predict(model, texts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Labels and signed scores in [-1, 1] for texts."""
    proba = model.predict_proba(texts)
    labels = np.asarray(model.classes_)[proba.argmax(axis=1)]
    return labels, np.clip(signed_score(model, proba), -1.0, 1.0)


def score(database_url: str, interaction_ids: list[int] | None = None,
          threshold: float = trends.DROP_THRESHOLD) -> ScoreResult:
    """Score unscored interactions (only `interaction_ids` when given) with the champion,
    then emit `sentiment.dropped` for new significant drops."""
    uri = tracking.configure(database_url, get_settings().artifacts_path)
    champion = registry.champion(MODEL_NAME)
    if champion is None:
        raise NoChampion(
            f"No '{registry.CHAMPION}' version of the {MODEL_NAME} model in the MLflow "
            f"registry ({tracking.describe_store(database_url)}): train one first on "
            f"labelled text (`salesops ml train email_sentiment --data PATH`).")
    version = str(champion.version)
    model = _load(uri, version, champion.run_id)
    engine = get_engine(database_url)
    query = _UNSCORED + (" and i.id = any(:ids)" if interaction_ids is not None else "")
    params = {"model": MODEL_NAME, "version": version,
              **({"ids": list(interaction_ids)} if interaction_ids is not None else {})}
    written = 0
    with engine.begin() as conn:
        for batch in pd.read_sql(sa.text(query + " order by i.id"), conn, params=params,
                                 chunksize=BATCH_ROWS):
            if batch.empty:  # pandas yields one empty chunk when nothing matched
                continue
            labels, scores = predict(model, batch["text"])
            rows = ((int(i), str(lbl), float(s), MODEL_NAME, version, champion.run_id)
                    for i, lbl, s in zip(batch["id"], labels, scores, strict=True))
            written += store.copy_rows(conn, "ml.sentiment_analysis", _COLUMNS, rows)
    return ScoreResult(rows=written, alerts=trends.alert_drops(engine, threshold),
                       version=version)
