"""Snapshots of the open pipeline: what was known about each open deal on a given day, and
(for training) in which of the next months it was won.

A snapshot at `as_of` holds every deal created on or before it and not closed before it,
with its amount as recorded with its last stage entry by then (today's amount only where
none was recorded).
The label is the calendar month, counted from as_of's month, in which the deal was won
(0 .. horizon-1), or `horizon` when it was not won within the horizon (lost, won later or
still open). Training snapshots are taken at month starts, only where the whole horizon
has passed by the training cut-off, so no label is censored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.forecasting.history import DealHistory

#: Months ahead the model forecasts; the per-deal win probability is that of winning
#: within this horizon (a quarter ahead covers the current and next month-by-month views).
HORIZON_MONTHS = 3
#: An owner's or team's win rate is shrunk towards the overall rate by this many deals.
PRIOR_DEALS = 10

CATEGORICAL = ["stage", "segment"]
NUMERIC = ["age_days", "days_in_stage", "amount", "owner_win_rate", "owner_closed",
           "owner_open", "team_win_rate", "month_of_quarter"]
FEATURES = CATEGORICAL + NUMERIC


def month_start(ts) -> pd.Timestamp:
    return pd.Timestamp(ts).to_period("M").to_timestamp()


def add_months(ts: pd.Timestamp, months: int) -> pd.Timestamp:
    return (pd.Timestamp(ts).to_period("M") + months).to_timestamp()


def month_offset(dates: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    """Whole calendar months from as_of's month to each date's month (NaN for no date)."""
    base = pd.Timestamp(as_of).to_period("M").ordinal
    periods = dates.dt.to_period("M")
    return periods.map(lambda p: np.nan if pd.isna(p) else p.ordinal - base).astype(float)


def open_mask(history: DealHistory, as_of: pd.Timestamp) -> pd.Series:
    d = history.deals
    return (d["created_at"] <= as_of) & (d["closed_at"].isna() | (d["closed_at"] >= as_of))


def amount_known(history: DealHistory, deal_ids: pd.Series, at: pd.Series,
                 strictly_before: bool = False) -> pd.Series:
    """Each deal's amount as it was known at its moment `at`: the last amount recorded with
    a stage entry by then (before then, with `strictly_before`), else (no amount recorded
    yet, or an export without stage amounts) the deal's amount today. Aligned with
    `deal_ids`."""
    deals = history.deals.set_index("deal_id")["amount"]
    today = deals.reindex(deal_ids.to_numpy()).to_numpy()
    recorded = history.stages.dropna(subset=["amount"])
    if recorded.empty:
        return pd.Series(today, index=deal_ids.index)
    asked = pd.DataFrame({"deal_id": deal_ids.to_numpy(), "at": pd.to_datetime(at).to_numpy(),
                          "row": np.arange(len(deal_ids))})
    known = asked.merge(recorded[["deal_id", "entered_at", "amount"]], on="deal_id")
    known = known[(known["entered_at"] < known["at"]) if strictly_before
                  else (known["entered_at"] <= known["at"])]
    last = known.sort_values("entered_at").groupby("row")["amount"].last()
    values = pd.Series(today).copy()
    values.loc[last.index] = last.to_numpy()
    return pd.Series(values.to_numpy(), index=deal_ids.index)


def _shrunk_rate(won: pd.Series, closed: pd.Series, prior: float) -> pd.Series:
    return (won + PRIOR_DEALS * prior) / (closed + PRIOR_DEALS)


def snapshot(history: DealHistory, as_of) -> pd.DataFrame:
    """One row per deal open at `as_of`: identifiers, amount and the FEATURES."""
    as_of = pd.Timestamp(as_of)
    d = history.deals
    rows = d[open_mask(history, as_of)].copy()
    closed = d[d["closed_at"] < as_of]
    prior = float(closed["is_won"].mean()) if len(closed) else 0.5
    by_owner = closed.groupby("owner")["is_won"].agg(["sum", "count"])
    by_team = closed.groupby("team")["is_won"].agg(["sum", "count"])
    owner = by_owner.reindex(rows["owner"]).fillna(0)
    team = by_team.reindex(rows["team"]).fillna(0)
    rows["owner_win_rate"] = _shrunk_rate(owner["sum"], owner["count"], prior).to_numpy()
    rows["owner_closed"] = owner["count"].to_numpy()
    rows["team_win_rate"] = _shrunk_rate(team["sum"], team["count"], prior).to_numpy()
    rows["owner_open"] = rows.groupby("owner")["deal_id"].transform("count").astype(float)

    stages = history.stages[history.stages["entered_at"] <= as_of]
    last = stages.groupby("deal_id").tail(1).set_index("deal_id")
    current = last.reindex(rows["deal_id"])
    rows["stage"] = current["stage"].fillna("unknown").to_numpy()
    entered = pd.to_datetime(current["entered_at"]).fillna(
        pd.Series(rows["created_at"].to_numpy(), index=current.index))
    rows["days_in_stage"] = (as_of - entered).dt.days.to_numpy().astype(float)
    rows["age_days"] = (as_of - rows["created_at"]).dt.days.astype(float)
    rows["month_of_quarter"] = float((as_of.month - 1) % 3 + 1)
    rows["amount"] = amount_known(history, rows["deal_id"], pd.Series(as_of, index=rows.index))
    return rows.reset_index(drop=True)


def build(snap: pd.DataFrame) -> pd.DataFrame:
    """The model input: FEATURES in order, categories as lower-case strings."""
    X = pd.DataFrame(index=snap.index)
    for column in CATEGORICAL:
        values = snap[column].astype(object).where(snap[column].notna(), "unknown")
        X[column] = values.astype(str).str.strip().str.lower().astype(object)
    for column in NUMERIC:
        X[column] = pd.to_numeric(snap[column], errors="coerce").astype(float)
    return X


def labels(history: DealHistory, snap: pd.DataFrame, as_of,
           horizon: int = HORIZON_MONTHS) -> np.ndarray:
    """For each snapshot row: the month offset it was won in, or `horizon` if not within it."""
    deals = history.deals.set_index("deal_id").loc[snap["deal_id"]]
    won_at = deals["closed_at"].where(deals["is_won"])
    offset = month_offset(won_at.reset_index(drop=True), pd.Timestamp(as_of)).to_numpy()
    inside = ~np.isnan(offset) & (offset >= 0) & (offset < horizon)
    return np.where(inside, np.nan_to_num(offset), horizon).astype(int)


def snapshot_dates(history: DealHistory, until, horizon: int = HORIZON_MONTHS
                   ) -> list[pd.Timestamp]:
    """Month starts whose horizon has fully passed by `until`, from the month of the first
    closed deal (before it, an export often shows no outcomes at all, which is not news)."""
    closed = history.deals["closed_at"].dropna()
    if closed.empty:
        return []
    first = month_start(closed.min())
    last = add_months(month_start(until), -horizon)
    return list(pd.date_range(first, last, freq="MS"))


def training_set(history: DealHistory, until, horizon: int = HORIZON_MONTHS
                 ) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """Snapshots labelled by what happened next: features, labels, each row's snapshot date."""
    parts, ys, dates = [], [], []
    for as_of in snapshot_dates(history, until, horizon):
        snap = snapshot(history, as_of)
        if snap.empty:
            continue
        parts.append(build(snap))
        ys.append(labels(history, snap, as_of, horizon))
        dates.append(pd.Series(as_of, index=range(len(snap))))
    if not parts:
        return pd.DataFrame(columns=FEATURES), np.array([], dtype=int), pd.Series(dtype=object)
    return (pd.concat(parts, ignore_index=True), np.concatenate(ys),
            pd.concat(dates, ignore_index=True))
