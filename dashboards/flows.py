"""Pure helpers for the funnel, velocity and pipeline pages: conversion between stages,
sales velocity and the steps of the walk of open pipeline from one date to another."""

from __future__ import annotations

import pandas as pd

#: The lead funnel's stages in order: (column counting leads that reached it, label).
FUNNEL_STAGES = [("leads", "Lead"), ("mqls", "MQL"), ("sqls", "SQL"),
                 ("opportunities", "Opportunity"), ("won", "Won")]


def conversion(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Per cohort, the share of leads that reached each later stage, and each stage's
    conversion from the one before (`mql_from_lead`, ...)."""
    out = cohorts.copy()
    leads = out["leads"].where(out["leads"] > 0)
    for (before, _), (after, label) in zip(FUNNEL_STAGES, FUNNEL_STAGES[1:], strict=False):
        out[f"{label.lower()}_rate"] = out[after] / leads
        out[f"{label.lower()}_from_previous"] = out[after] / out[before].where(out[before] > 0)
    return out


def velocity(reps: pd.DataFrame) -> pd.DataFrame:
    """Sales velocity, dollars a day: opportunities x win rate x average won deal / cycle
    days, from columns opportunities, won, closed, avg_won_amount, cycle_days."""
    out = reps.copy()
    out["win_rate"] = out["won"] / out["closed"].where(out["closed"] > 0)
    out["velocity_per_day"] = (out["opportunities"] * out["win_rate"] * out["avg_won_amount"]
                               / out["cycle_days"].where(out["cycle_days"] > 0))
    return out


#: The steps of the walk from one snapshot's open pipeline to another's, in order.
WATERFALL_STEPS = ["Start", "New", "Increased", "Decreased", "Won", "Lost", "Removed", "End"]


def waterfall(walk: pd.Series) -> pd.DataFrame:
    """The walk (one row of the pipeline page's WALK_SQL, a column per step in lower case)
    as one row per step with its amount: Start and End are totals; the steps between add
    up to the difference."""
    return pd.DataFrame({"step": WATERFALL_STEPS,
                         "amount": [float(walk[s.lower()] or 0) for s in WATERFALL_STEPS]})
