"""An S-learner of progress: one gradient-boosting classifier of P(progress | record, action),
asked for every allowed action; the uplift of an action is its probability minus that of
waiting. Rules decide what is allowed before any model is asked."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

from ml.next_best_action.history import ACTIONS, CATEGORICAL, FEATURES, NUMERIC

MODEL_NAME = "next_best_action"
BOOSTING_PARAMS = {"learning_rate": 0.05, "max_iter": 150, "max_depth": 3,
                   "min_samples_leaf": 20, "random_state": 0, "early_stopping": False}
SKOPS_TRUSTED_TYPES = [
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn._loss.link.Interval", "sklearn._loss.link.LogitLink",
    "sklearn._loss.loss.HalfBinomialLoss",
]


def build_model() -> Pipeline:
    prep = ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
        ("num", "passthrough", NUMERIC)])
    return Pipeline([("prep", prep),
                     ("model", HistGradientBoostingClassifier(**BOOSTING_PARAMS))])


def fit(points: pd.DataFrame) -> Pipeline:
    with threadpool_limits(limits=1, user_api="openmp"):
        return build_model().fit(points[FEATURES], points["progressed"])


def allowed(records: pd.DataFrame) -> pd.DataFrame:
    """Which action each record may get (one boolean column per action). Nothing for a closed
    record; no call, email or nurture campaign to a contact who opted out (nor nurture
    without marketing consent); no call, email or meeting without a contact; offers are
    for deals."""
    open_ = records["closed_at"].isna().to_numpy()
    contact = records["has_contact"].fillna(False).astype(bool).to_numpy()
    opted_out = records["opted_out"].fillna(False).astype(bool).to_numpy()
    no_marketing = records["no_marketing"].fillna(False).astype(bool).to_numpy()
    deal = (records["kind"] == "deal").to_numpy()
    reachable = contact & ~opted_out
    rules = {"call": reachable, "email": reachable, "meeting": contact,
             "nurture": reachable & ~no_marketing & ~deal, "offer": deal,
             "wait": np.ones(len(records), dtype=bool)}
    return pd.DataFrame({a: rules[a] & open_ for a in ACTIONS}, index=records.index)


def action_probabilities(model: Pipeline, X: pd.DataFrame) -> pd.DataFrame:
    """P(progress) for each row of X (features without `action`) under every action."""
    out = {}
    with threadpool_limits(limits=1, user_api="openmp"):
        for action in ACTIONS:
            out[action] = model.predict_proba(X.assign(action=action)[FEATURES])[:, 1]
    return pd.DataFrame(out, index=X.index)


def rank(probabilities: pd.DataFrame, permitted: pd.DataFrame) -> pd.DataFrame:
    """Allowed actions per row, best first: row, action, rank, confidence (P(progress)),
    uplift over waiting."""
    long = probabilities.where(permitted).stack().rename("confidence").reset_index()
    long.columns = ["row", "action", "confidence"]
    long["uplift"] = long["confidence"] - long["row"].map(probabilities["wait"])
    long = long.sort_values(["row", "confidence"], ascending=[True, False], kind="stable")
    long["rank"] = long.groupby("row").cumcount() + 1
    return long.reset_index(drop=True)
