"""Rank the allowed actions of every open lead and deal with the champion model and write
`ml.next_best_actions` (one row per record and allowed action, rank 1 the best)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ml import monitoring, serving, store
from ml.next_best_action import history
from ml.next_best_action import model as nba
from ml.next_best_action.model import MODEL_NAME
from salesops.db import get_engine

_COLUMNS = ("lead_id", "deal_id", "action", "rank", "confidence", "expected_uplift",
            "template_id", "rationale", "model_name", "model_version", "mlflow_run_id")
#: The email template to name: the one most campaigns used, then the newest.
_TEMPLATE = """
select t.id, t.name from app.communication_templates t
  left join app.marketing_campaigns c on c.template_id = t.id and c.deleted_at is null
 where t.channel = 'email' and t.deleted_at is null
 group by t.id, t.name order by count(c.id) desc, max(t.updated_at) desc, t.id limit 1
"""
LABELS = {"call": "a call", "email": "an email", "meeting": "a meeting",
          "nurture": "a nurture campaign", "offer": "an offer", "wait": "waiting"}


def reason(action: str, confidence: float, wait: float, template: str | None) -> str:
    what = LABELS[action] + (f" (template '{template}')" if action == "email" and template
                             else "")
    if action == "wait":
        return (f"similar records progressed {confidence:.0%} of the time within "
                f"{history.PROGRESS_DAYS} days when left alone; no action did better")
    return (f"similar records progressed {confidence:.0%} of the time within "
            f"{history.PROGRESS_DAYS} days after {what}, {wait:.0%} when left alone")


def score(database_url: str, now=None) -> int:
    champion = serving.champion(MODEL_NAME, database_url, f"salesops ml train {MODEL_NAME}")
    engine = get_engine(database_url)
    now = pd.Timestamp(now) if now is not None else pd.Timestamp.now(tz=None)
    records, actions, _ = history.load(engine)
    records = records[records["closed_at"].isna()].reset_index(drop=True)
    if records.empty:
        return 0
    with engine.connect() as conn:
        template = conn.execute(sa.text(_TEMPLATE)).first()
    X = history.features_at(records, actions, pd.Series(now, index=records.index))
    probs = nba.action_probabilities(champion.model, X)
    ranked = nba.rank(probs, nba.allowed(records))
    name = template.name if template else None

    def row(r) -> tuple:
        rec = records.loc[r.row]
        return (None if pd.isna(rec.lead_id) else int(rec.lead_id),
                None if pd.isna(rec.deal_id) else int(rec.deal_id), r.action, int(r.rank),
                float(r.confidence), float(r.uplift),
                template.id if template and r.action == "email" else None,
                reason(r.action, r.confidence, probs.loc[r.row, "wait"], name),
                MODEL_NAME, champion.version, champion.run_id)

    with engine.begin() as conn:
        written = store.copy_rows(conn, "ml.next_best_actions", _COLUMNS,
                                  (row(r) for r in ranked.itertuples()))
        monitoring.check(conn, MODEL_NAME, champion.version, champion.run_id,
                         serving.drift_reference(champion), X[history.MONITORED],
                         first_choice(ranked))
    return written


def first_choice(ranked: pd.DataFrame) -> np.ndarray:
    """The confidence of each record's first choice (the score whose drift is monitored)."""
    return ranked.loc[ranked["rank"] == 1, "confidence"].to_numpy()
