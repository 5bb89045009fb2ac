"""Offline replay: fit on older decisions, recommend on newer ones, and compare how often the
records that happened to get the recommended action progressed with how often those that
got the most frequent action did (the baseline policy)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.pipeline import Pipeline

from ml.errors import NotEnoughData
from ml.next_best_action import model as nba
from ml.next_best_action.history import FEATURES

HOLDOUT_FRACTION = 0.3
MIN_POINTS = 100


@dataclass(frozen=True)
class Replay:
    model: Pipeline
    metrics: dict[str, float]
    baseline: dict[str, float]
    cutoff: pd.Timestamp
    #: The held-out decisions and the actions the rules allowed at each (same index).
    holdout: pd.DataFrame
    rules: pd.DataFrame


def followed(model: Pipeline, hold: pd.DataFrame, rules: pd.DataFrame) -> pd.Series:
    """Per held-out decision: whether the action taken was the model's first choice."""
    probs = nba.action_probabilities(model, hold[FEATURES].drop(columns="action"))
    top = nba.rank(probs, rules).query("rank == 1").set_index("row")["action"]
    return pd.Series(hold["action"].to_numpy() == hold.index.map(top).to_numpy(),
                     index=hold.index)


def progress_rate(hold: pd.DataFrame, taken: pd.Series) -> float:
    """How often the decisions in `taken` progressed (0 when there are none)."""
    return float(hold.loc[taken, "progressed"].mean()) if taken.any() else 0.0


def replay(points: pd.DataFrame, records: pd.DataFrame) -> Replay:
    """`points` from history.decision_points; `records` to apply the rules with."""
    if len(points) < MIN_POINTS or points["progressed"].nunique() < 2:
        raise NotEnoughData(
            f"Next best action needs at least {MIN_POINTS} past weekly decisions with both "
            f"outcomes; found {len(points)} ({int(points['progressed'].sum())} progressed). "
            "Log more calls, emails and meetings as completed tasks or interactions.")
    cutoff = points["t"].sort_values().iloc[int(len(points) * (1 - HOLDOUT_FRACTION))]
    train, hold = points[points["t"] < cutoff], points[points["t"] >= cutoff].reset_index(
        drop=True)
    fitted = nba.fit(train)
    # the rules as they stand (closed records are judged open: they were, at decision time)
    rules = nba.allowed(records.assign(closed_at=pd.NaT).set_index("record").loc[
        hold["record"]].reset_index())
    taken = followed(fitted, hold, rules)
    frequent = train["action"].mode().iloc[0]
    baseline_taken = hold["action"] == frequent
    metrics = {"progress_rate_when_recommended_action_taken": progress_rate(hold, taken),
               "matched_decisions": int(taken.sum()), "holdout_decisions": len(hold)}
    baseline = {"progress_rate_most_frequent_action": progress_rate(hold, baseline_taken),
                "matched_decisions": int(baseline_taken.sum()),
                "most_frequent_action_is_" + frequent: 1.0}
    return Replay(fitted, metrics, baseline, pd.Timestamp(cutoff), hold, rules)
