"""What was done to leads and deals, and whether they moved forward afterwards.

Three frames from the warehouse's action feature views (`marts.action_record_features`,
`marts.action_event_features`; or built by hand in tests):
- records: `record` ('lead:7', 'deal:3'), `kind`, `lead_id`, `deal_id`, `created_at`,
  `closed_at`, `amount`, `has_contact`, `opted_out`,
  `no_marketing`;
- actions: `record`, `action` (ACTIONS but wait), `at` — completed call/email/meeting tasks,
  outbound calls, emails and meetings logged on deals, nurture-campaign memberships, and
  tasks about an offer, quote or discount;
- progress: `record`, `at` — a lead qualified or converted, a deal entering a stage that is
  not a lost one.

`decision_points` turns them into weekly decisions: at each week of a record's open life,
the action taken in the following week (or `wait`), the features known then, and whether the
record progressed within PROGRESS_DAYS.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ml import marts

ACTIONS = ("call", "email", "meeting", "nurture", "offer", "wait")
STEP_DAYS = 7
PROGRESS_DAYS = 14
#: Not the lead status or deal stage: the app keeps only today's, which after the fact is
#: the outcome itself.
CATEGORICAL = ["kind", "action"]
NUMERIC = ["age_days", "days_since_action", "actions_before", "amount"]
FEATURES = CATEGORICAL + NUMERIC
#: What drift monitoring watches: the record's features (the action is the one asked about).
MONITORED = [f for f in FEATURES if f != "action"]

#: The dbt feature views of records and of actions and moves forward
#: (dbt_project/models/marts/sales).
RECORDS_MART, EVENTS_MART = "marts.action_record_features", "marts.action_event_features"

_RECORDS = f"""
select record, kind, lead_id, deal_id, created_at, closed_at, amount, has_contact,
       opted_out, no_marketing
  from {RECORDS_MART} order by kind desc, lead_id, deal_id
"""
_EVENTS = f"""
select record, event_type, action, occurred_at as at
  from {EVENTS_MART}
 order by event_type, array_position(array['task', 'interaction', 'campaign_member', 'lead',
                                           'stage_history'], source), source_id
"""


def _naive(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True).dt.tz_convert(None)


def load(engine: sa.Engine) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Records, actions and progress from the warehouse's action feature views; each fact
    at the time it became known (see the views' ymls)."""
    with engine.connect() as conn:
        marts.require_built(conn, RECORDS_MART, EVENTS_MART)
        records = pd.read_sql_query(sa.text(_RECORDS), conn)
        events = pd.read_sql_query(sa.text(_EVENTS), conn)
    is_action = events.pop("event_type") == "action"
    actions = events[is_action].reset_index(drop=True)
    progress = events.loc[~is_action, ["record", "at"]].reset_index(drop=True)
    for frame, columns in ((records, ("created_at", "closed_at")), (actions, ("at",)),
                           (progress, ("at",))):
        for column in columns:
            frame[column] = _naive(frame[column])
    return records, actions, progress


def features_at(records: pd.DataFrame, actions: pd.DataFrame, at: pd.Series) -> pd.DataFrame:
    """Features of each record (row of `records`) at the times `at` (aligned with it)."""
    frame = records.reset_index(drop=True).assign(t=at.to_numpy(), row=np.arange(len(records)))
    acts = actions.sort_values("at")
    before = frame.merge(acts[["record", "at"]], on="record", how="left")
    before = before[before["at"] < before["t"]]
    last = before.groupby("row")["at"].max()
    count = before.groupby("row").size()
    X = pd.DataFrame({
        "kind": frame["kind"].astype(str),
        "age_days": (frame["t"] - frame["created_at"]).dt.days.astype(float),
        # since the last action, or since creation when there was none
        "days_since_action": (frame["t"] - frame["row"].map(last).fillna(frame["created_at"])
                              ).dt.days.astype(float),
        "actions_before": frame["row"].map(count).fillna(0).astype(float),
        "amount": pd.to_numeric(frame["amount"], errors="coerce").fillna(0).astype(float),
    })
    return X


def decision_points(records: pd.DataFrame, actions: pd.DataFrame, progress: pd.DataFrame,
                    until: pd.Timestamp) -> pd.DataFrame:
    """One row per record and open week whose outcome window ended by `until`: features,
    `action` taken that week, `progressed` (0/1) and the decision time `t`."""
    # decision times t = created + k weeks while the record is open (t < closed) and its
    # outcome window has ended (t <= until - PROGRESS_DAYS)
    open_days = (records["closed_at"].fillna(until) - records["created_at"]).dt.total_seconds()
    open_weeks = np.ceil(open_days / 86400 / STEP_DAYS)
    last_days = (until - pd.Timedelta(days=PROGRESS_DAYS) - records["created_at"]).dt.days
    weeks = np.minimum(open_weeks, last_days // STEP_DAYS + 1).clip(lower=0).astype(int)
    rows = records.loc[records.index.repeat(weeks)].reset_index(drop=True)
    step = rows.groupby("record").cumcount()
    t = rows["created_at"] + pd.to_timedelta(step * STEP_DAYS, unit="D")
    X = features_at(rows, actions, t)

    def first_after(events: pd.DataFrame, within: int, value: str | None) -> pd.Series:
        frame = pd.DataFrame({"record": rows["record"], "t": t, "row": np.arange(len(rows))})
        joined = frame.merge(events, on="record", how="inner")
        joined = joined[(joined["at"] >= joined["t"])
                        & (joined["at"] < joined["t"] + pd.Timedelta(days=within))]
        first = joined.sort_values("at").groupby("row").head(1).set_index("row")
        return first[value] if value else first["at"]

    taken = first_after(actions, STEP_DAYS, "action")
    moved = first_after(progress, PROGRESS_DAYS, None)
    X["action"] = pd.Series(np.arange(len(rows))).map(taken).fillna("wait").to_numpy()
    X["progressed"] = pd.Series(np.arange(len(rows))).isin(moved.index).astype(int).to_numpy()
    X["t"] = t.to_numpy()
    X["record"] = rows["record"].to_numpy()
    return X
