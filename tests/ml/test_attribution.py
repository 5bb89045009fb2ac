"""Data-driven attribution: Markov removal effects and Shapley values on journeys small
enough to work out by hand, the check against ChannelAttribution's `markov_model`, and the
warehouse run into `ml.attribution` on a real PostgreSQL and MLflow store."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from ml import tracking
from ml.attribution import Journeys, attribute, removal_effects, shapley_values
from ml.attribution import evaluate as check
from ml.attribution.allocate import UNATTRIBUTED
from ml.attribution.run import MODELS, attribute_journeys, journeys_from_frames
from salesops.errors import SalesopsError

TOLERANCE_PP = 0.01  # removal-effect shares within 1 percentage point of the package


def journeys(rows: list[tuple[str, float, float, float]]) -> Journeys:
    """(path, conversions, nulls, value) rows in ChannelAttribution's form."""
    frame = pd.DataFrame(rows, columns=["path", "conv", "null", "value"])
    return Journeys.from_path_strings(frame["path"], frame["conv"], frame["null"],
                                      frame["value"])


def effects(j: Journeys, order: int = 1) -> dict[str, float]:
    r = removal_effects(j, order)
    return dict(zip(r.channels, r.conversion, strict=True))


# --- Markov ------------------------------------------------------------------------------


def test_removal_effects_match_a_chain_worked_by_hand():
    # start -> a (4) or b (4); a -> b (4); b -> conversion 3 of 8: P(conversion) = 3/8.
    # Without a, its half of the starts is lost: 3/16 (effect 1/2); without b, nothing.
    j = journeys([("a > b", 2, 2, 20.0), ("b", 1, 3, 10.0)])
    got = effects(j)
    assert got == pytest.approx({"a": 0.5, "b": 1.0})
    r = removal_effects(j)
    assert r.conversion_shares == pytest.approx([1 / 3, 2 / 3])
    # each conversion ending in b is worth its mean value (40/3): value follows conversions
    assert r.value == pytest.approx([0.5, 1.0])


def test_a_channel_only_on_non_converting_journeys_has_no_effect():
    got = effects(journeys([("a", 1, 1, 0), ("b", 0, 2, 0), ("b > b > b", 0, 5, 0)]))
    assert got == pytest.approx({"a": 1.0, "b": 0.0})


def test_higher_order_chains_remember_where_a_journey_came_from():
    # every a > c journey converts, no b > c journey does: at order 1, c forgets its past
    # and b gets half the credit; at order 2 the state (b, c) never converts, so b gets none
    j = journeys([("a > c", 10, 0, 0), ("b > c", 0, 10, 0)])
    assert effects(j, 1) == pytest.approx({"a": 0.5, "b": 0.5, "c": 1.0})
    assert effects(j, 2) == pytest.approx({"a": 1.0, "b": 0.0, "c": 1.0})
    assert effects(j, 3) == pytest.approx(effects(j, 2))


def test_bad_orders_and_journeys_are_refused():
    j = journeys([("a", 1, 0, 0)])
    with pytest.raises(ValueError, match="order must be 1 to 3"):
        removal_effects(j, 4)
    with pytest.raises(ValueError, match="no journey converted"):
        removal_effects(journeys([("a", 0, 3, 0)]))
    with pytest.raises(ValueError, match="empty channel"):
        journeys([("a >  > b", 1, 0, 0)])


# --- Shapley -----------------------------------------------------------------------------


def test_shapley_values_share_each_channel_set_by_the_rate_game():
    # rates: only-a journeys 1/4, only-b 1/2, both (⊆ {a, b}: everything) 3/7
    j = journeys([("a > b", 1, 0, 100.0), ("a", 1, 3, 10.0), ("b > b", 1, 1, 30.0)])
    v_a, v_b, v_ab = 1 / 4, 1 / 2, 3 / 7
    phi_a = (v_a + (v_ab - v_b)) / 2
    phi_b = (v_b + (v_ab - v_a)) / 2
    share_a = phi_a / (phi_a + phi_b)
    got = shapley_values(j).set_index("channel")
    assert got.loc["a", "conversions"] == pytest.approx(1 + share_a)
    assert got.loc["b", "conversions"] == pytest.approx(1 + (1 - share_a))
    assert got.loc["a", "value"] == pytest.approx(10 + 100 * share_a)
    assert got["conversions"].sum() == pytest.approx(3)
    assert got["value"].sum() == pytest.approx(140)


def test_shapley_gives_symmetric_channels_equal_credit_and_idle_ones_none():
    j = journeys([("a > b", 4, 4, 0), ("b > a", 4, 4, 0), ("c", 0, 9, 0)])
    got = shapley_values(j).set_index("channel")["conversions"]
    assert got["a"] == pytest.approx(got["b"]) and got["a"] == pytest.approx(4)
    assert got["c"] == 0


# --- against ChannelAttribution -----------------------------------------------------------


@pytest.fixture
def reference_paths(shared_data) -> pd.DataFrame:
    path = shared_data / "attribution" / "channelattribution_paths" / "Data.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found (see ../shared/data/README.md)")
    return pd.read_csv(path, sep=";")


def test_order_one_shares_match_channelattribution(reference_paths):
    if importlib.util.find_spec("ChannelAttribution") is None:
        pytest.skip("the ChannelAttribution package is not installed here (it builds from "
                    "source: `uv pip install ChannelAttribution`, needs a C++ compiler)")
    record = check.evaluate(reference_paths, "Data.csv")
    assert record["metrics"]["max_share_gap_pp_order_1"] <= TOLERANCE_PP * 100, record
    reference = record["baseline"][check.REFERENCE]
    assert len(reference) == 12 and set(reference) == set(record["shares"]["markov_order_1"])
    for model in MODELS:
        assert sum(record["shares"][model].values()) == pytest.approx(1, abs=1e-3), model


def test_evaluate_command_reads_paths_and_names_what_is_missing(tmp_path):
    from typer.testing import CliRunner

    from ml.cli import app

    rows = [("a > b", 3, 1, 30.0), ("b > c", 1, 4, 5.0), ("c", 0, 6, 0.0), ("a", 2, 2, 8.0)]
    frame = pd.DataFrame(rows, columns=["path", "total_conversions", "total_null",
                                        "total_conversion_value"])
    frame.to_csv(tmp_path / "paths.csv", index=False)  # comma-separated this time
    result = CliRunner().invoke(app, ["evaluate", "attribution", "--data",
                                      str(tmp_path / "paths.csv")])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output.strip().splitlines()[-1])
    assert record["eval"] == "attribution" and record["metrics"]["channels"] == 3
    assert record["metrics"]["conversions"] == 6
    ours = effects(journeys(rows))
    shares = record["shares"]["markov_order_1"]
    assert shares["a"] == pytest.approx(ours["a"] / sum(ours.values()), abs=1e-4)
    assert shares["c"] < shares["a"]  # c only ends journeys that mostly fail

    frame.drop(columns="total_null").to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(SalesopsError, match="no column total_null"):
        check.read_paths(tmp_path / "bad.csv")


def test_reference_paths_totals(reference_paths):
    d = reference_paths
    j = Journeys.from_path_strings(d["path"], d["total_conversions"], d["total_null"],
                                   d["total_conversion_value"])
    values = shapley_values(j)
    assert values["conversions"].sum() == pytest.approx(19_785)
    assert values["value"].sum() == pytest.approx(74_802.97, abs=0.01)
    for order in (1, 2, 3):
        shares = removal_effects(j, order).conversion_shares
        assert shares.sum() == pytest.approx(1) and (shares >= 0).all()


# --- the warehouse run -------------------------------------------------------------------


def synthetic_touches(n_contacts: int = 300, seed: int = 3):
    """Converting touches (as marts.fct_attribution's linear rows) and the touches of
    contacts who did not convert (as marts.fct_touchpoints)."""
    rng = np.random.default_rng(seed)
    channels = np.array(["paid_search", "email", "social", "referral"])
    lift = {"paid_search": 0.4, "email": 0.8, "social": -0.5, "referral": 1.2}
    conv, non = [], []
    for contact in range(1, n_contacts + 1):
        path = rng.choice(channels, rng.integers(1, 5))
        logit = -1.5 + sum(lift[c] for c in set(path))
        converted = rng.random() < 1 / (1 + np.exp(-logit))
        campaigns = [f"{c}-{rng.integers(1, 3)}" if c != "referral" else None for c in path]
        if converted:
            month = pd.Timestamp("2025-01-01") + pd.DateOffset(months=int(rng.integers(0, 3)))
            for pos, (c, camp) in enumerate(zip(path, campaigns, strict=True), start=1):
                conv.append({"lead_id": contact, "contact_id": contact, "touchpoint_id":
                             f"t{contact}-{pos}", "channel": c, "campaign": camp,
                             "touch_position": pos, "conversion_date": month.date(),
                             "revenue": 100.0 * contact})
        else:
            for pos, (c, camp) in enumerate(zip(path, campaigns, strict=True), start=1):
                non.append({"touchpoint_id": f"t{contact}-{pos}", "contact_id": contact,
                            "occurred_at": pd.Timestamp("2025-01-01", tz="UTC")
                            + pd.Timedelta(days=pos), "channel": c, "campaign": camp})
    # two conversions without any touch
    for lead in (10_001, 10_002):
        conv.append({"lead_id": lead, "contact_id": None, "touchpoint_id": None,
                     "channel": UNATTRIBUTED, "campaign": None, "touch_position": None,
                     "conversion_date": pd.Timestamp("2025-02-10").date(), "revenue": 50.0})
    return pd.DataFrame(conv), pd.DataFrame(non)


def converting_frame(conv: pd.DataFrame) -> pd.DataFrame:
    return conv.assign(period=pd.to_datetime(conv["conversion_date"]).dt.to_period("M")
                       .dt.to_timestamp().dt.date, untouched=conv["touchpoint_id"].isna())


def test_every_model_credits_every_conversion_once():
    conv, non = synthetic_touches()
    result = attribute_journeys(journeys_from_frames(converting_frame(conv), non))
    converted = conv["lead_id"].nunique()
    revenue = conv.drop_duplicates("lead_id")["revenue"].sum()
    per_model = result.rows.groupby("model")[["conversions", "revenue"]].sum()
    assert set(per_model.index) == set(MODELS)
    assert per_model["conversions"].to_numpy() == pytest.approx([converted] * len(MODELS))
    assert per_model["revenue"].to_numpy() == pytest.approx([revenue] * len(MODELS))
    untouched = result.rows[result.rows["channel"] == UNATTRIBUTED]
    assert untouched.groupby("model")["conversions"].sum().tolist() == [2.0] * len(MODELS)
    # channel totals of the rows are the models' channel totals
    markov = result.rows[result.rows["model"] == "markov_order_1"]
    totals = result.channels[result.channels["model"] == "markov_order_1"]
    assert (markov.groupby("channel")["conversions"].sum().drop(UNATTRIBUTED).sort_index()
            .to_numpy() == pytest.approx(totals.set_index("channel")["conversions"]
                                         .sort_index().to_numpy()))
    # referral has no campaign; the others split over their two campaigns
    assert markov.loc[markov["channel"] == "referral", "campaign"].isna().all()
    assert markov.loc[markov["channel"] == "email", "campaign"].nunique() == 2
    # the best-converting channel earns the most under every model
    for model in MODELS:
        by_channel = (result.rows[result.rows["model"] == model].groupby("channel")
                      ["conversions"].sum().drop(UNATTRIBUTED))
        assert by_channel.idxmax() in {"referral", "email"}, model
        assert by_channel["social"] < by_channel["referral"], model


MART_DDL = (
    "create schema if not exists marts",
    "create schema if not exists intermediate",
    """create table marts.fct_attribution (model text, lead_id bigint, contact_id bigint,
       touchpoint_id text, channel text, campaign text, touch_position integer,
       conversion_date date, credit double precision)""",
    """create table marts.fct_touchpoints (touchpoint_id text, contact_id bigint,
       occurred_at timestamptz, channel text, campaign text)""",
    """create table intermediate.int_leads__converted_with_revenue (lead_id bigint,
       contact_id bigint, conversion_date date, revenue numeric)""",
)
RELATIONS = ("marts.fct_attribution", "marts.fct_touchpoints",
             "intermediate.int_leads__converted_with_revenue")
SET_ASIDE = "__set_aside_by_attribution_tests"


@pytest.fixture
def warehouse(engine: sa.Engine) -> Iterator[pd.DataFrame]:
    """The three relations the run reads, as plain tables (dbt-built ones set aside)."""
    conv, non = synthetic_touches()
    kinds = {"r": "table", "v": "view", "m": "materialized view"}
    moved = []
    with engine.begin() as conn:
        for ddl in MART_DDL[:2]:
            conn.execute(sa.text(ddl))
        for rel in RELATIONS:
            schema, name = rel.split(".")
            kind = conn.execute(sa.text(
                "select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = :s and c.relname = :n"), {"s": schema, "n": name}).scalar()
            if kind:
                conn.execute(sa.text(f"alter {kinds[kind]} {rel} rename to {name}{SET_ASIDE}"))
                moved.append((kinds[kind], schema, name))
        for ddl in MART_DDL[2:]:
            conn.execute(sa.text(ddl))
    conv.drop(columns="revenue").assign(model="linear", credit=1.0).to_sql(
        "fct_attribution", engine, schema="marts", if_exists="append", index=False)
    non.to_sql("fct_touchpoints", engine, schema="marts", if_exists="append", index=False)
    conv.drop_duplicates("lead_id")[["lead_id", "contact_id", "conversion_date", "revenue"]] \
        .to_sql("int_leads__converted_with_revenue", engine, schema="intermediate",
                if_exists="append", index=False)
    yield conv
    with engine.begin() as conn:
        for rel in RELATIONS:
            conn.execute(sa.text(f"drop table {rel}"))
        for kind, schema, name in moved:
            conn.execute(sa.text(
                f"alter {kind} {schema}.{name}{SET_ASIDE} rename to {name}"))
        conn.execute(sa.text("truncate ml.attribution"))


def test_run_writes_the_mart_shape_naming_its_run(warehouse, database_url, engine, tmp_path):
    first = attribute(database_url, tmp_path)
    again = attribute(database_url, tmp_path)
    with engine.connect() as conn:
        rows = pd.read_sql("select * from ml.attribution", conn)
    assert first.rows == again.rows == len(rows)  # a re-run replaces, never appends
    assert set(rows["mlflow_run_id"]) == {again.run_id}
    assert set(rows["model_name"]) == {"attribution"}
    per_model = rows.groupby("model")["conversions"].sum()
    assert per_model.to_numpy() == pytest.approx([warehouse["lead_id"].nunique()] * 4)
    assert rows["period"].notna().all() and set(rows["model"]) == set(MODELS)
    run = tracking.client().get_run(again.run_id)
    assert run.data.metrics["converting_journeys"] == warehouse["touchpoint_id"].notna() \
        .groupby(warehouse["lead_id"]).any().sum()


def test_credit_of_a_channel_never_on_a_converting_journey_is_kept():
    # x only shows on a journey that did not convert, but at order 1 it leads to b, which
    # converts elsewhere: x earns credit, and the rows must still add up to every conversion
    conv = pd.DataFrame({
        "lead_id": [1, 2, 2], "channel": ["b", "a", "b"], "campaign": ["cb", "ca", "cb"],
        "period": [pd.Timestamp("2025-01-01").date(), pd.Timestamp("2025-02-01").date(),
                   pd.Timestamp("2025-02-01").date()],
        "revenue": [10.0, 30.0, 30.0], "untouched": [False] * 3})
    non = pd.DataFrame({"contact_id": [7, 7, 7, 8], "channel": ["a", "x", "b", "a"],
                        "campaign": ["ca", "cx", "cb", "ca"]})
    result = attribute_journeys(journeys_from_frames(conv, non), orders=(1,))
    rows = result.rows[result.rows["model"] == "markov_order_1"]
    assert rows["conversions"].sum() == pytest.approx(2)
    assert rows["revenue"].sum() == pytest.approx(40)
    x = rows[rows["channel"] == "x"]
    assert x["conversions"].sum() > 0 and set(x["campaign"]) == {"cx"}
    assert sorted(x["period"].astype(str)) == ["2025-01-01", "2025-02-01"]
