"""Pure helpers for the funnel, velocity and pipeline pages: conversion between stages,
sales velocity and the walk of open pipeline from one date to another."""

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


def waterfall(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """How open pipeline went from `before` to `after` (snapshots with deal_id, amount,
    is_closed, is_won): one row per step with its amount (Start and End are totals; the
    steps between add up to the difference)."""
    open_before = before[~before.is_closed.astype(bool)].set_index("deal_id").amount
    later = after.set_index("deal_id")
    open_after = later[~later.is_closed.astype(bool)].amount
    stayed = open_before.index.intersection(open_after.index)
    delta = open_after[stayed] - open_before[stayed]
    closed = open_before.index.intersection(later.index).difference(open_after.index)
    won = later.loc[closed, "is_won"].fillna(False).astype(bool)
    steps = {
        "Start": open_before.sum(),
        "New": open_after[open_after.index.difference(open_before.index)].sum(),
        "Increased": delta[delta > 0].sum(),
        "Decreased": delta[delta < 0].sum(),
        "Won": -open_before[won[won].index].sum(),
        "Lost": -open_before[won[~won].index].sum(),
        "Removed": -open_before[open_before.index.difference(later.index)].sum(),
        "End": open_after.sum(),
    }
    return pd.DataFrame({"step": WATERFALL_STEPS,
                         "amount": [float(steps[s]) for s in WATERFALL_STEPS]})
