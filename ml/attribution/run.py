"""Data-driven attribution on the warehouse: read journeys, credit channels with Markov
chains (order 1 to 3) and Shapley values, log the run to MLflow and replace `ml.attribution`.

Converting journeys are the touches dbt already credits (`marts.fct_attribution`, model
`linear`: every touch of a converted lead's contact within the lookback window, so the window
rule lives once, in dbt); non-converting journeys are the touches of contacts with no
converted lead (`marts.fct_touchpoints`). Conversions without any touch keep the dbt mart's
`unattributed` row, so each model's conversions add up to the converted leads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import sqlalchemy as sa

from ml import store, tracking
from ml.attribution.allocate import MART_COLUMNS, allocate, unattributed_rows
from ml.attribution.markov import MAX_ORDER, removal_effects
from ml.attribution.paths import Journeys
from ml.attribution.shapley import MAX_CHANNELS, shapley_values
from salesops.db import get_engine
from salesops.errors import SalesopsError

#: The experiment in MLflow and ml.attribution.model_name.
MODEL_NAME = "attribution"
#: Version of the attribution method; rows name it with their MLflow run.
METHOD_VERSION = "1"
TABLE = "ml.attribution"
ORDERS = tuple(range(1, MAX_ORDER + 1))
SHAPLEY = "shapley"
OTHER_CHANNEL = "other"


def markov_model(order: int) -> str:
    return f"markov_order_{order}"


MODELS = (*(markov_model(k) for k in ORDERS), SHAPLEY)

_CONVERTING = sa.text(
    "select a.lead_id, a.channel, a.campaign, "
    "date_trunc('month', a.conversion_date)::date as period, c.revenue, "
    "a.touchpoint_id is null as untouched "
    "from marts.fct_attribution as a "
    "join intermediate.int_leads__converted_with_revenue as c on c.lead_id = a.lead_id "
    "where a.model = 'linear' "
    "order by a.lead_id, a.touch_position nulls first")
_NON_CONVERTING = sa.text(
    "select t.contact_id, t.channel, t.campaign "
    "from marts.fct_touchpoints as t "
    "where t.contact_id is not null and t.occurred_at is not null and not exists ("
    "select 1 from intermediate.int_leads__converted_with_revenue as c "
    "where c.contact_id = t.contact_id) "
    "order by t.contact_id, t.occurred_at, t.touchpoint_id")


@dataclass(frozen=True)
class WarehouseJourneys:
    journeys: Journeys | None  # None when no converted lead has a touch
    campaign: pd.Series        # per touch
    period: pd.Series          # per touch (month of conversion; NaT off converting journeys)
    untouched: pd.DataFrame    # conversions without touches: period, revenue


def journeys_from_frames(converting: pd.DataFrame,
                         non_converting: pd.DataFrame) -> WarehouseJourneys:
    """Touch rows of converting journeys (lead_id, channel, campaign, period, revenue,
    untouched) and of non-converting ones (contact_id, channel, campaign), each in order."""
    untouched = converting[converting["untouched"]]
    touched = converting[~converting["untouched"]]
    lead_key = pd.factorize(touched["lead_id"])[0]
    contact_key = pd.factorize(non_converting["contact_id"])[0]
    n_conv = int(lead_key.max()) + 1 if len(lead_key) else 0
    n_null = int(contact_key.max()) + 1 if len(contact_key) else 0
    revenue = touched.groupby(lead_key, sort=True)["revenue"].first().astype(float)
    journey = np.concatenate([lead_key, n_conv + contact_key])
    channel = pd.concat([touched["channel"], non_converting["channel"]]).fillna("unknown")
    campaign = pd.concat([touched["campaign"], non_converting["campaign"]], ignore_index=True)
    period = pd.concat([touched["period"], pd.Series([None] * len(non_converting))],
                       ignore_index=True)
    converted = np.repeat([1.0, 0.0], [n_conv, n_null])
    journeys = None
    if n_conv:
        journeys = Journeys.from_touches(
            journey, channel.to_numpy(), converted, 1.0 - converted,
            np.concatenate([revenue.to_numpy(), np.zeros(n_null)]))
    return WarehouseJourneys(journeys, campaign, period, untouched[["period", "revenue"]])


#: What the run reads; dbt builds them.
SOURCES = ("marts.fct_attribution", "marts.fct_touchpoints",
           "intermediate.int_leads__converted_with_revenue")


def load(engine: sa.Engine) -> WarehouseJourneys:
    """The warehouse's journeys; a clear error when dbt has not built what they come from."""
    with engine.connect() as conn:
        missing = [name for name in SOURCES
                   if conn.execute(sa.select(sa.func.to_regclass(name))).scalar() is None]
        if missing:
            raise SalesopsError(f"{', '.join(missing)} not built yet: run dbt first "
                                f"(`salesops up`, or the dbt assets in Dagster).")
        converting = pd.read_sql(_CONVERTING, conn)
        non_converting = pd.read_sql(_NON_CONVERTING, conn)
    return journeys_from_frames(converting, non_converting)


def _group_rare(j: Journeys, keep: int) -> Journeys:
    """The same journeys with all but the `keep` most touched channels named 'other'."""
    counts = pd.Series(j.touch_channel).value_counts()
    kept = set(counts.index[:keep])
    names = [j.channels[c] if c in kept else OTHER_CHANNEL for c in j.touch_channel]
    return Journeys.from_touches(j.touch_journey, names, j.conversions, j.nulls, j.value)


@dataclass(frozen=True)
class Attribution:
    rows: pd.DataFrame       # the mart's long shape (MART_COLUMNS)
    channels: pd.DataFrame   # per model and channel: conversions, value (and removal effects)


def attribute_journeys(w: WarehouseJourneys, orders=ORDERS) -> Attribution:
    """Every model's rows and per-channel totals; nothing written."""
    models = [markov_model(k) for k in orders] + [SHAPLEY]
    parts, channels = [], []
    j = w.journeys
    if j is not None:
        conversions, value = j.conversions.sum(), j.value.sum()
        for k in orders:
            effects = removal_effects(j, k).frame()
            effects["conversions"] = effects["share"] * conversions
            effects["value"] = effects["value_share"] * value
            effects["model"] = markov_model(k)
            channels.append(effects)
            parts.append(allocate(markov_model(k), effects, j, w.campaign, w.period))
        sj = j if len(j.channels) <= MAX_CHANNELS else _group_rare(j, MAX_CHANNELS - 1)
        values = shapley_values(sj).assign(model=SHAPLEY)
        channels.append(values)
        parts.append(allocate(SHAPLEY, values, sj, w.campaign, w.period))
    if len(w.untouched):
        parts += [unattributed_rows(m, w.untouched) for m in models]
    rows = (pd.concat(parts, ignore_index=True) if parts
            else pd.DataFrame(columns=list(MART_COLUMNS)))
    return Attribution(rows, pd.concat(channels, ignore_index=True) if channels
                       else pd.DataFrame())


@dataclass(frozen=True)
class RunResult:
    run_id: str
    rows: int
    conversions: float
    journeys: int


def attribute(database_url: str, artifacts_dir: Path, orders=ORDERS) -> RunResult:
    """Attribute the warehouse's conversions with every model, log the run, and replace
    ml.attribution with its rows in one transaction."""
    tracking.configure(database_url, artifacts_dir)
    engine = get_engine(database_url)
    w = load(engine)
    result = attribute_journeys(w, orders)
    j = w.journeys
    n_journeys = j.n_journeys if j is not None else 0
    converting = float(j.conversions.sum()) if j is not None else 0.0
    with mlflow.start_run(experiment_id=tracking.experiment_id(MODEL_NAME),
                          run_name=f"{MODEL_NAME} {n_journeys} journeys") as run:
        mlflow.log_params({"method_version": METHOD_VERSION, "models": ",".join(MODELS),
                           "orders": ",".join(map(str, orders)),
                           "source": "marts.fct_attribution, marts.fct_touchpoints"})
        mlflow.log_metrics({"journeys": n_journeys, "converting_journeys": converting,
                            "untouched_conversions": len(w.untouched),
                            "channels": len(j.channels) if j is not None else 0})
        if len(result.channels):
            mlflow.log_text(result.channels.to_csv(index=False), "channels.csv")
        mlflow.log_text(result.rows.to_csv(index=False), "attribution.csv")
        run_id = run.info.run_id
    rows = result.rows.assign(revenue=result.rows["revenue"].round(2))
    records = (
        (*(None if pd.isna(v) else v for v in row), MODEL_NAME, METHOD_VERSION, run_id)
        for row in rows[list(MART_COLUMNS)].itertuples(index=False, name=None))
    with engine.begin() as conn:
        conn.execute(sa.text(f"delete from {TABLE}"))
        written = store.copy_rows(conn, TABLE, (*MART_COLUMNS, "model_name", "model_version",
                                                "mlflow_run_id"), records)
    return RunResult(run_id=run_id, rows=written,
                     conversions=converting + len(w.untouched), journeys=n_journeys)
