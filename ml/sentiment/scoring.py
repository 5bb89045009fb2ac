"""Score interactions with the champion sentiment model, write `ml.sentiment_analysis` in
COPY batches, then alert on contacts and accounts whose sentiment dropped.

Every interaction with a subject or body is scored once per model version (re-runs only
score what is new); calls and meetings without notes have no text to read and get no row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ml import serving, store
from ml.sentiment import trends
from ml.sentiment.model import MODEL_NAME, signed_score
from salesops.db import get_engine

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
    #: True when the tracking store was down and the last served champion answered.
    fallback: bool = False


def predict(model, texts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Labels and signed scores in [-1, 1] for texts."""
    proba = model.predict_proba(texts)
    labels = np.asarray(model.classes_)[proba.argmax(axis=1)]
    return labels, np.clip(signed_score(model, proba), -1.0, 1.0)


def score(database_url: str, interaction_ids: list[int] | None = None,
          threshold: float = trends.DROP_THRESHOLD) -> ScoreResult:
    """Score unscored interactions (only `interaction_ids` when given) with the champion,
    then emit `sentiment.dropped` for new significant drops."""
    champion = serving.champion(MODEL_NAME, database_url,
                                f"salesops ml train {MODEL_NAME} --data PATH")
    version, model = champion.version, champion.model
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
                       version=version, fallback=champion.fallback)
