"""Deal history in one shape, from the warehouse's deal feature views or from a CRM export
read through a mapping.

`DealHistory.deals` has one row per deal: `deal_id`, `owner`, `team`, `segment` (product or
deal type), `amount` (the pipeline amount known while the deal is open), `booked_amount`
(what a won deal booked), `created_at` (when it entered the pipeline), `closed_at`, `is_won`.
`DealHistory.stages` has one row per stage a deal entered: `deal_id`, `stage`, `entered_at`,
`amount` (the deal's amount recorded with the entry; NaN when none was, and in exports).
Times are tz-naive UTC timestamps; the models work in whole days and calendar months.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from ml import marts
from ml.errors import NotEnoughData
from salesops.errors import SalesopsError

DEAL_COLUMNS = ["deal_id", "owner", "team", "segment", "amount", "booked_amount",
                "created_at", "closed_at", "is_won"]
STAGE_COLUMNS = ["deal_id", "stage", "entered_at", "amount"]


@dataclass(frozen=True)
class DealHistory:
    deals: pd.DataFrame
    stages: pd.DataFrame
    source: str

    def __post_init__(self) -> None:
        missing = [c for c in DEAL_COLUMNS if c not in self.deals.columns]
        missing += [c for c in STAGE_COLUMNS if c not in self.stages.columns]
        if missing:
            raise ValueError(f"deal history lacks columns {missing}")


def _naive(values: pd.Series) -> pd.Series:
    ts = pd.to_datetime(values, utc=True)
    return ts.dt.tz_convert(None)


def normalise(deals: pd.DataFrame, stages: pd.DataFrame, source: str) -> DealHistory:
    """Typed columns; deals without a pipeline entry time are dropped (they cannot be placed
    in time), and so are their stages."""
    deals = deals[DEAL_COLUMNS].copy()
    deals["created_at"] = _naive(deals["created_at"])
    deals["closed_at"] = _naive(deals["closed_at"])
    deals["is_won"] = deals["is_won"].fillna(False).astype(bool)
    for column in ("amount", "booked_amount"):
        deals[column] = pd.to_numeric(deals[column], errors="coerce").astype(float)
    for column in ("owner", "team", "segment"):
        deals[column] = deals[column].astype(object).where(deals[column].notna(), "unknown")
        deals[column] = deals[column].astype(str)
    deals = deals[deals["created_at"].notna()].reset_index(drop=True)
    stages = stages.reindex(columns=STAGE_COLUMNS)
    stages["entered_at"] = _naive(stages["entered_at"])
    stages["amount"] = pd.to_numeric(stages["amount"], errors="coerce").astype(float)
    stages = stages[stages["deal_id"].isin(deals["deal_id"]) & stages["entered_at"].notna()]
    return DealHistory(deals, stages.sort_values(["deal_id", "entered_at"]).reset_index(drop=True),
                       source)


# ------------------------------------------------------------------- warehouse marts

#: The dbt feature views of deals and their stage entries (dbt_project/models/marts/sales).
DEALS_MART, STAGES_MART = "marts.deal_features", "marts.deal_stage_features"

_MART_DEALS = f"""
select deal_id, owner_id as owner, team_id as team, segment, amount, booked_amount,
       created_at, closed_at, is_won
  from {DEALS_MART} order by deal_id
"""
_MART_STAGES = f"""
select deal_id, stage_name as stage, entered_at, amount
  from {STAGES_MART} order by deal_id, entered_at, deal_stage_history_id
"""


def from_marts(engine: sa.Engine) -> DealHistory:
    """The live deals of the warehouse's deal feature views, point in time: each deal known
    from its creation, its outcome from its close, each stage entry (and the amount recorded
    with it) from its entry (a deal without recorded history has one inferred entry at
    creation; see the views' ymls)."""
    with engine.connect() as conn:
        marts.require_built(conn, DEALS_MART, STAGES_MART)
        deals = pd.read_sql_query(sa.text(_MART_DEALS), conn)
        stages = pd.read_sql_query(sa.text(_MART_STAGES), conn)
    return normalise(deals, stages, DEALS_MART)


# ------------------------------------------------------------- records of a CRM export

def from_records(records: list[dict], source: str,
                 prices: pd.DataFrame | None = None,
                 teams: pd.DataFrame | None = None) -> DealHistory:
    """Deals from canonical deal records, as a CRM export read through its column mapping
    gives them (connectors.mapped_file; ml does not import connectors, so the caller reads).

    Engage date (or created time) is the pipeline entry, close date (or closed time) the
    close. Open deals often have no amount in exports (Maven CRM's have none): the product's
    list price from `prices` (columns product, sales_price) stands in, and is the pipeline
    amount of every deal, so a closed deal's features never see what it booked. `teams`
    (columns sales_agent, regional_office) names each owner's team.
    """
    if not records:
        raise NotEnoughData(f"{source}: no deal records to read; check the file and its "
                            "mapping.")
    raw = pd.DataFrame.from_records(records)
    for column in ("engage_date", "close_date", "created_at", "closed_at", "product",
                   "deal_type", "amount", "owner", "is_won", "is_closed"):
        if column not in raw:
            raw[column] = None
    created = raw["engage_date"].fillna(raw["created_at"])
    closed = raw["close_date"].fillna(raw["closed_at"])
    is_closed = raw["is_closed"].fillna(False).astype(bool) & closed.notna()
    segment = raw["product"].fillna(raw["deal_type"])
    amount = pd.to_numeric(raw["amount"], errors="coerce")
    pipeline_amount = amount.copy()
    if prices is not None:
        price = segment.map(prices.set_index("product")["sales_price"])
        pipeline_amount = pd.to_numeric(price, errors="coerce").fillna(amount)
    team = raw["owner"]
    if teams is not None:
        team = raw["owner"].map(teams.set_index("sales_agent")["regional_office"])
    won = raw["is_won"].fillna(False).astype(bool) & is_closed
    deals = pd.DataFrame({
        "deal_id": raw["source_key"], "owner": raw["owner"], "team": team,
        "segment": segment, "amount": pipeline_amount,
        "booked_amount": amount.where(won), "created_at": created,
        "closed_at": closed.where(is_closed), "is_won": won,
    })
    # an export keeps only today's stage, not the stage a deal was in while open: giving
    # open deals theirs and closed ones another would leak the outcome, so all get one label
    stages = pd.DataFrame({"deal_id": deals["deal_id"], "stage": "open",
                           "entered_at": created})
    return normalise(deals, stages, source)


def from_file(data: Path, mapping: Path) -> DealHistory:
    """A CRM export's deals CSV (or a folder holding `sales_pipeline.csv`) read through its
    column mapping, the way the import reads it; `products.csv` (product, sales_price) and
    `sales_teams.csv` (sales_agent, regional_office) next to it are used when present
    (see `from_records`). Rows the mapping rejects are left out and counted in the source."""
    from ml import mapped

    path = Path(data)
    folder = path if path.is_dir() else path.parent
    deals_file = path / "sales_pipeline.csv" if path.is_dir() else path
    if not deals_file.is_file():
        raise SalesopsError(f"{deals_file}: no such file; give --data the deals CSV or a "
                            "folder holding sales_pipeline.csv.")
    reader = mapped.reader()
    spec = reader.load_mapping(mapping)
    if spec.entity != "deals":
        raise SalesopsError(f"{mapping}: entity is {spec.entity!r}; the forecast needs a "
                            "mapping with `entity: deals` (see examples/maven_crm_deals.yaml)")
    records, rejected = [], 0
    for batch in reader.read_mapped(deals_file, spec):
        records.extend(batch.records)
        rejected += len(batch.rejects)

    def optional(name: str) -> pd.DataFrame | None:
        return pd.read_csv(folder / name) if (folder / name).is_file() else None

    source = f"{deals_file} (mapping {Path(mapping).name}; {rejected} rows rejected)"
    return from_records(records, source, prices=optional("products.csv"),
                        teams=optional("sales_teams.csv"))
