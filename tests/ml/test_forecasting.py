"""Win probability and revenue forecast: snapshots, labels, the simulation, the backtest, and
train -> score -> ml.forecasts -> ml.forecast_accuracy on a real PostgreSQL and MLflow store.

The synthetic pipeline: reps differ in skill and small deals win more often, which a stage
table cannot see; deals move Qualify -> Proposal and close won or lost after some weeks.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from ml import registry, tracking
from ml.errors import NoChampion, NotEnoughData
from ml.forecasting import MODEL_NAME, evaluate, features, history, simulate
from ml.forecasting.features import HORIZON_MONTHS
from ml.forecasting.score import periods, score
from ml.forecasting.train import train

START = pd.Timestamp("2024-01-01")
END = pd.Timestamp("2025-01-01")  # the day the data was exported: today, for the tests
SKILL = {1: 1.2, 2: 0.6, 3: 0.0, 4: -0.6, 5: -1.2, 6: 0.3}
TEAM_OF = {1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 2}


def synthetic(n: int = 700, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deals (app-shaped, ids as ints) and their stage history, exported on END."""
    rng = np.random.default_rng(seed)
    created = START + pd.to_timedelta(np.sort(rng.uniform(0, 350, n)), unit="D")
    owner = rng.integers(1, 7, n)
    small = rng.random(n) < 0.5
    logit = -0.4 + np.vectorize(SKILL.get)(owner) + np.where(small, 0.8, -0.8)
    won = rng.random(n) < 1 / (1 + np.exp(-logit))
    cycle = np.where(won, 15 + rng.gamma(2, 15, n), 5 + rng.gamma(2, 10, n))
    closed_at = created + pd.to_timedelta(cycle, unit="D")
    is_closed = closed_at < END
    deals = pd.DataFrame({
        "deal_id": np.arange(1, n + 1), "owner": owner,
        "team": [TEAM_OF[o] for o in owner], "segment": np.where(small, "small", "large"),
        "amount": np.where(small, 1000.0, 8000.0), "created_at": created,
        "closed_at": pd.Series(closed_at).where(is_closed), "is_won": won & is_closed,
    })
    deals["booked_amount"] = deals["amount"].where(deals["is_won"])
    proposal_at = created + pd.to_timedelta(cycle / 2, unit="D")
    stages = pd.concat([
        pd.DataFrame({"deal_id": deals["deal_id"], "stage": "Qualify", "entered_at": created}),
        pd.DataFrame({"deal_id": deals["deal_id"], "stage": "Proposal",
                      "entered_at": proposal_at}).loc[proposal_at < END],
        pd.DataFrame({"deal_id": deals["deal_id"],
                      "stage": np.where(won, "Won", "Lost"),
                      "entered_at": closed_at}).loc[is_closed],
    ], ignore_index=True)
    return deals, stages


@pytest.fixture(scope="module")
def deal_history() -> history.DealHistory:
    deals, stages = synthetic()
    return history.normalise(deals, stages, "synthetic")


# --- snapshots and labels ----------------------------------------------------------------


def test_labels_count_calendar_months_and_never_peek_past_the_horizon():
    day = pd.Timestamp
    deals = pd.DataFrame({
        "deal_id": [1, 2, 3, 4, 5], "owner": "a", "team": "t", "segment": "s",
        "amount": 100.0, "booked_amount": [100.0, 100.0, None, None, 100.0],
        "created_at": [day("2024-01-05")] * 4 + [day("2024-02-10")],
        "closed_at": [day("2024-02-03"), day("2024-05-20"), day("2024-02-10"), None,
                      day("2024-02-12")],
        "is_won": [True, True, False, False, True],
    })
    stages = deals[["deal_id"]].assign(stage="open", entered_at=deals["created_at"])
    h = history.normalise(deals, stages, "crafted")
    snap = features.snapshot(h, day("2024-02-01"))
    # deal 5 did not exist yet; 1 won in February (0), 2 in May (beyond 3 months), 3 lost
    assert list(snap["deal_id"]) == [1, 2, 3, 4]
    assert list(features.labels(h, snap, day("2024-02-01"))) == [0, 3, 3, 3]
    assert list(snap["age_days"]) == [27.0] * 4
    # a snapshot is labelled only when its whole horizon has passed
    dates = features.snapshot_dates(h, day("2024-06-15"))
    assert dates == [day("2024-02-01"), day("2024-03-01")]


def test_amounts_are_the_ones_recorded_with_the_stage_entries_by_then():
    day = pd.Timestamp
    deals = pd.DataFrame({
        "deal_id": [1, 2, 3], "owner": 1, "team": 1, "segment": "s",
        "amount": [8000.0, 3000.0, 900.0], "booked_amount": [None, None, 900.0],
        "created_at": [day("2024-01-01")] * 3,
        "closed_at": [pd.NaT, pd.NaT, day("2024-03-01")], "is_won": [False, False, True]})
    stages = pd.DataFrame({
        "deal_id": [1, 1, 2, 3, 3, 3],
        "stage": ["Qualify", "Proposal", "Qualify", "Qualify", "Proposal", "Won"],
        "entered_at": [day("2024-01-01"), day("2024-02-01"), day("2024-01-01"),
                       day("2024-01-01"), day("2024-02-01"), day("2024-03-01")],
        "amount": [500.0, 700.0, None, 600.0, 750.0, 900.0]})
    h = history.normalise(deals, stages, "amounts")
    amount = features.snapshot(h, "2024-01-15").set_index("deal_id")["amount"]
    assert amount.to_dict() == {1: 500.0, 2: 3000.0, 3: 600.0}  # deal 2: none recorded
    assert features.snapshot(h, "2024-02-01").set_index("deal_id")["amount"][1] == 700.0
    # a won deal booked 900 against the 750 its pipeline showed before it closed
    np.testing.assert_allclose(simulate.amount_ratios(h, day("2024-04-01")), [900 / 750])
    # an export without stage amounts: today's amounts, as before
    bare = history.normalise(deals, stages.drop(columns="amount"), "export")
    assert features.snapshot(bare, "2024-01-15")["amount"].tolist() == [8000.0, 3000.0, 900.0]


def test_snapshot_features_use_only_what_was_known(deal_history):
    as_of = pd.Timestamp("2024-07-01")
    snap = features.snapshot(deal_history, as_of)
    d = deal_history.deals.set_index("deal_id").loc[snap["deal_id"]]
    assert (d["created_at"] <= as_of).all()
    assert (d["closed_at"].isna() | (d["closed_at"] >= as_of)).all()
    assert set(snap["stage"]) <= {"Qualify", "Proposal"}  # never the closing stage
    closed_before = deal_history.deals[deal_history.deals["closed_at"] < as_of]
    rate = closed_before.groupby("owner")["is_won"].agg(["sum", "count"])
    prior = closed_before["is_won"].mean()
    row = snap.iloc[0]
    s, c = rate.loc[row["owner"]]
    assert row["owner_win_rate"] == pytest.approx((s + 10 * prior) / (c + 10))
    X = features.build(snap)
    assert list(X.columns) == features.FEATURES and X["month_of_quarter"].eq(1).all()


# --- simulation ---------------------------------------------------------------------------


def _one_deal_history(amount: float = 100.0) -> tuple[history.DealHistory, pd.DataFrame]:
    deals = pd.DataFrame({
        "deal_id": [1, 2], "owner": ["a", "b"], "team": ["t", "u"], "segment": "s",
        "amount": amount, "booked_amount": [None, None],
        "created_at": [pd.Timestamp("2024-01-05")] * 2, "closed_at": [None, None],
        "is_won": [False, False]})
    stages = deals[["deal_id"]].assign(stage="open", entered_at=deals["created_at"])
    h = history.normalise(deals, stages, "one")
    return h, features.snapshot(h, pd.Timestamp("2024-03-01"))


def test_a_certain_deal_books_its_amount_in_its_month():
    h, snap = _one_deal_history()
    probs = np.array([[0.0, 1.0, 0.0, 0.0],    # deal 1 surely won next month
                      [0.0, 0.0, 0.0, 1.0]])   # deal 2 surely not within the horizon
    b = simulate.simulate(h, snap, probs, "2024-03-01", n_simulations=200)
    everyone = np.arange(len(b.cells))
    assert np.all(b.total(everyone, [0]) == 0)
    assert np.all(b.total(everyone, [1]) == 100.0)
    assert np.all(b.total(everyone, [0, 1, 2]) == 100.0)
    assert np.all(b.total(everyone, [1], "commit") == 100.0)
    assert np.all(b.total(everyone, [1], "omitted") == 0)
    dates = simulate.expected_close_dates(probs, pd.Timestamp("2024-03-01"))
    assert dates[0] == pd.Timestamp("2024-04-15")


def test_team_and_rep_samples_add_up_to_the_total_and_quantiles_are_ordered():
    h, snap = _one_deal_history()
    probs = np.array([[0.3, 0.2, 0.1, 0.4], [0.5, 0.1, 0.1, 0.3]])
    b = simulate.simulate(h, snap, probs, "2024-03-01", n_simulations=4000, seed=1)
    everyone = np.arange(len(b.cells))
    parts = sum(b.total(np.array([i]), [0]) for i in everyone)
    assert np.allclose(parts, b.total(everyone, [0]))
    assert b.total(everyone, [0]).mean() == pytest.approx(80.0, rel=0.05)  # 0.3 + 0.5
    p10, p50, p90 = np.quantile(b.total(everyone, [0, 1, 2]), simulate.QUANTILES)
    assert p10 <= p50 <= p90


def _fixed_probs(snap: pd.DataFrame) -> np.ndarray:
    return np.tile([0.2, 0.15, 0.1, 0.55], (len(snap), 1))


def test_business_not_created_yet_is_learned_from_before_the_origin_only(deal_history):
    """Rewriting everything after the origin (outcomes flipped, later deals gone, a burst of
    big new wins) leaves the forecast as it was; the same burst before the origin moves it."""
    as_of = pd.Timestamp("2024-09-01")
    snap = features.snapshot(deal_history, as_of)
    before = simulate.simulate(deal_history, snap, _fixed_probs(snap), as_of, 400)
    everyone = np.arange(len(before.cells))
    assert before.total(everyone, [0], simulate.NEW_BUSINESS).std() > 0  # a spread

    d = deal_history.deals
    kept = d[d["created_at"] <= as_of].copy()
    later = kept["closed_at"] >= as_of
    kept.loc[later, "is_won"] = ~kept.loc[later, "is_won"]
    kept["booked_amount"] = kept["amount"].where(kept["is_won"])

    def burst(created: str, won: str) -> pd.DataFrame:
        return pd.DataFrame({
            "deal_id": np.arange(10_000, 10_040), "owner": d["owner"].iloc[0],
            "team": d["team"].iloc[0], "segment": "large", "amount": 1e6,
            "booked_amount": 1e6, "created_at": pd.Timestamp(created),
            "closed_at": pd.Timestamp(won), "is_won": True})

    def rewritten(extra: pd.DataFrame) -> history.DealHistory:
        deals = pd.concat([kept, extra], ignore_index=True)
        stages = deal_history.stages[deal_history.stages["entered_at"] <= as_of]
        return history.normalise(deals, stages, "rewritten")

    future = rewritten(burst("2024-09-03", "2024-09-20"))
    after = simulate.simulate(future, features.snapshot(future, as_of), _fixed_probs(snap),
                              as_of, 400)
    assert after.cells.equals(before.cells)
    np.testing.assert_array_equal(after.new, before.new)
    np.testing.assert_array_equal(after.existing, before.existing)
    np.testing.assert_array_equal(after.closed, before.closed)

    past = rewritten(burst("2024-08-03", "2024-08-20"))  # August: the 2nd month of a quarter
    moved = simulate.simulate(past, features.snapshot(past, as_of), _fixed_probs(snap),
                              as_of, 400)
    november = moved.total(everyone, [2], simulate.NEW_BUSINESS).mean()
    assert november > before.total(everyone, [2], simulate.NEW_BUSINESS).mean() + 1e5


def test_new_business_at_a_quarter_position_not_seen_yet_uses_every_position(deal_history):
    as_of = pd.Timestamp("2024-03-01")  # behind it: January and February, no third month
    business = simulate.new_business_history(deal_history, as_of, HORIZON_MONTHS,
                                             simulate.cells_of(deal_history))
    assert business.months == {(0, 0): 1, (0, 1): 1, (1, 1): 1}
    snap = features.snapshot(deal_history, as_of)
    b = simulate.simulate(deal_history, snap, _fixed_probs(snap), as_of, 300)
    everyone = np.arange(len(b.cells))
    march, april, may = (b.total(everyone, [k], simulate.NEW_BUSINESS).mean() for k in range(3))
    assert march > 0 and april > 0  # positions 2 and 0 at these offsets: all positions used
    assert may == 0  # nothing was ever seen two months after a month start


def test_the_totals_draws_are_the_reps_draws_added_up(deal_history):
    as_of = pd.Timestamp("2024-09-10")  # mid-month: something is already booked
    snap = features.snapshot(deal_history, as_of)
    b = simulate.simulate(deal_history, snap, _fixed_probs(snap), as_of, 400)
    everyone = np.arange(len(b.cells))
    assert b.closed[0].sum() > 0 and b.new.sum() > 0
    for months in ([0], [1], [0, 1, 2]):
        total = b.total(everyone, months)
        reps = sum(b.total(np.array([c]), months) for c in everyone)
        np.testing.assert_allclose(reps, total)
        parts = sum(b.total(everyone, months, category)
                    for category in ("closed", *simulate.CATEGORIES, simulate.NEW_BUSINESS))
        np.testing.assert_allclose(parts, total)


def test_past_errors_are_used_once_their_month_has_ended():
    day = pd.Timestamp
    past = [evaluate.PastError("total", day("2024-05-01"), (0.1, 0.0)),
            evaluate.PastError("total", day("2024-06-01"), (0.2, 0.0)),
            evaluate.PastError("team", day("2024-05-01"), (0.3, 0.0))]
    assert evaluate.usable_errors(past, day("2024-06-01")) == {
        "total": [(0.1, 0.0)], "team": [(0.3, 0.0)], "rep": []}
    assert evaluate.usable_errors(past, day("2024-07-01"))["total"] == [(0.1, 0.0), (0.2, 0.0)]


def test_a_level_without_errors_of_its_own_borrows_the_finer_levels():
    team = [(0.2, 0.0), (-0.3, 0.1), (0.4, 0.2)]
    errors = {"total": [(0.1, 0.0)], "team": team, "rep": [(0.5, 0.5)] * 9}
    np.testing.assert_array_equal(simulate.errors_for("total", errors), team)
    np.testing.assert_array_equal(simulate.errors_for("team", errors), team)
    assert len(simulate.errors_for("total", {"rep": [(0.5, 0.5)] * 3})) == 3
    assert len(simulate.errors_for("rep", {"total": [(0.1, 0.1)] * 5})) == 0
    # a past forecast missing a component's error is not one to draw from
    assert len(simulate.errors_for("team", {"team": team + [(np.nan, 0.1)]})) == 3


def test_past_errors_recentre_and_widen_the_interval():
    rng = np.random.default_rng(0)
    parts = np.column_stack([rng.normal(1000, 10, 5000), np.zeros(5000)])
    few = np.array([[0.1, 0.0], [-0.1, 0.0]])
    np.testing.assert_array_equal(simulate.calibrate(parts, few), parts.sum(axis=1))
    errors = np.column_stack([simulate.log_error([500, 600, 700, 550], [1000] * 4),
                              np.zeros(4)])
    out = simulate.calibrate(parts, errors)
    assert np.median(out) < 750  # the model over-forecast before: the centre moves down
    assert np.quantile(out, 0.9) - np.quantile(out, 0.1) > 5 * (
        np.quantile(parts[:, 0], 0.9) - np.quantile(parts[:, 0], 0.1))


def test_each_component_is_calibrated_by_its_own_past_errors():
    """A pipeline over-forecast by half used to scale the whole month down, business not
    created yet included; now only the pipeline moves, and new business keeps its centre."""
    rng = np.random.default_rng(1)
    pipeline, new = rng.normal(1000, 50, 4000), rng.normal(1000, 50, 4000)
    past = np.column_stack([simulate.log_error([480, 500, 520], [1000] * 3),
                            simulate.log_error([990, 1000, 1010], [1000] * 3)])
    out = simulate.calibrate(np.column_stack([pipeline, new]), past)
    assert np.median(out) == pytest.approx(1500, rel=0.03)  # not 1000: half of everything
    assert np.quantile(out, 0.1) < 1500 < np.quantile(out, 0.9)


def test_actuals_split_by_whether_the_deal_existed_at_the_as_of_date(deal_history):
    as_of, month = pd.Timestamp("2024-06-01"), pd.Timestamp("2024-07-01")
    cells = simulate.cells_of(deal_history)
    parts = simulate.won_by_component(deal_history, month, cells, as_of)
    np.testing.assert_allclose(parts.sum(axis=1),
                               simulate._won_in_month(deal_history, month, cells))
    d = deal_history.deals
    won = d[d["is_won"] & (d["closed_at"] >= month) & (d["closed_at"] < "2024-08-01")]
    assert parts[:, 1].sum() == won.loc[won["created_at"] > as_of, "booked_amount"].sum() > 0
    assert parts[:, 0].sum() > 0


def test_categories_by_probability():
    assert list(simulate.category_for([0.9, 0.5, 0.2, 0.01])) == [
        "commit", "best_case", "pipeline", "omitted"]


def test_periods_cover_the_months_and_the_quarters_the_horizon_completes():
    got = [(g, s.strftime("%Y-%m"), k, [p.strftime("%Y-%m") for p in past])
           for g, s, k, past in periods(pd.Timestamp("2024-05-10"), 3)]
    assert got == [("month", "2024-05", [0], []), ("month", "2024-06", [1], []),
                   ("month", "2024-07", [2], []), ("quarter", "2024-04", [0, 1], ["2024-04"])]


# --- backtest -----------------------------------------------------------------------------


def test_backtest_beats_the_stage_table_on_deals(deal_history):
    record = evaluate.evaluate(deal_history, n_simulations=300, last_origins=3)
    print(json.dumps(record))
    m, base = record["metrics"], record["baseline"]
    assert set(record) == {"eval", "data", "metrics", "baseline"}
    # the last 3 origins (2024-10 .. 12) forecast 3, 2 and 1 months with known outcomes
    assert m["origins"] == 3 and m["intervals_rep_h1"] == 3 * len(SKILL)
    assert m["intervals_rep"] == 6 * len(SKILL) and m["intervals_total_h3"] == 1
    # rep skill and deal size are invisible to a stage table
    assert m["deal_roc_auc_won_this_month"] > base["stage_table_roc_auc_won_this_month"] + 0.03
    assert 0 <= m["coverage_p10_p90_rep"] <= 1 and m["mape_total"] >= 0


def test_the_blend_learns_its_weight_from_months_ended_before_the_origin():
    origins = pd.date_range("2024-01-01", periods=6, freq="MS")
    frame = pd.DataFrame({"origin": origins, "horizon": 1, "level": "total",
                          "actual": 100.0, "p50": 150.0, "seasonal_naive": 100.0})
    frame.loc[5, "actual"] = 1000.0  # what happens at the last origin does not steer it
    blend = evaluate.blended_p50(frame)
    assert blend[:3].tolist() == [150.0] * 3  # fewer than 3 months ended: the model alone
    assert blend[3:].tolist() == [100.0] * 3  # seasonal naive was right every time


def test_too_little_history_is_a_clear_error(deal_history):
    young = history.normalise(
        deal_history.deals[deal_history.deals["created_at"] < "2024-02-15"].assign(
            closed_at=pd.NaT, is_won=False),
        deal_history.stages.iloc[:0], "young")
    with pytest.raises(NotEnoughData, match="no closed deals"):
        evaluate.evaluate(young)
    with pytest.raises(NotEnoughData, match="labelled snapshots"):
        evaluate.check_enough(np.array([0, 3, 3]))


# --- the database path: train, score, ml.forecasts, ml.forecast_accuracy -------------------


def load_app(engine: sa.Engine, deals: pd.DataFrame, stages: pd.DataFrame) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("insert into app.roles (id, name) values (1, 'sales_rep')"))
        conn.execute(sa.text("insert into app.teams (id, name) values (1, 'East'), (2, 'West')"))
        for owner, team in TEAM_OF.items():
            conn.execute(sa.text(
                "insert into app.users (id, email, full_name, role_id, team_id) "
                "values (:i, :e, :n, 1, :t)"),
                {"i": owner, "e": f"rep{owner}@x.example", "n": f"Rep {owner}", "t": team})
        conn.execute(sa.text("insert into app.pipelines (id, name, is_default) "
                             "values (1, 'Sales', true)"))
        conn.execute(sa.text(
            "insert into app.pipeline_stages (id, pipeline_id, name, position, probability, "
            "forecast_category, is_closed, is_won) values "
            "(1, 1, 'Qualify', 1, 20, 'pipeline', false, false),"
            "(2, 1, 'Proposal', 2, 50, 'best_case', false, false),"
            "(3, 1, 'Won', 3, 100, 'closed', true, true),"
            "(4, 1, 'Lost', 4, 0, 'closed', true, false)"))
    current = stages.sort_values("entered_at").groupby("deal_id").tail(1).set_index("deal_id")
    stage_id = current.loc[deals["deal_id"], "stage"].map(
        {"Qualify": 1, "Proposal": 2, "Won": 3, "Lost": 4}).to_numpy()
    app = pd.DataFrame({
        "id": deals["deal_id"], "name": [f"Deal {i}" for i in deals["deal_id"]],
        "pipeline_id": 1, "stage_id": stage_id, "owner_id": deals["owner"],
        "amount": deals["amount"], "deal_type": deals["segment"],
        "created_at": deals["created_at"].dt.tz_localize("UTC"),
        "closed_at": deals["closed_at"].dt.tz_localize("UTC"),
        "is_won": deals["is_won"].where(deals["closed_at"].notna()),
    })
    app.to_sql("sales_pipeline", engine, schema="app", if_exists="append", index=False)
    amount = stages["deal_id"].map(deals.set_index("deal_id")["amount"])
    stages.assign(stage_label=stages["stage"], amount=amount,
                  entered_at=stages["entered_at"].dt.tz_localize("UTC")).drop(
        columns="stage").to_sql("deal_stage_history", engine, schema="app",
                                if_exists="append", index=False)


@pytest.fixture(scope="module")
def forecast_db(make_database, tmp_path_factory, build_feature_views):
    url = make_database("salesops_forecast")
    deals, stages = synthetic()
    from salesops.db import get_engine

    engine = get_engine(url)
    load_app(engine, deals, stages)
    build_feature_views(url)
    return url, engine, tmp_path_factory.mktemp("forecast_artifacts"), deals


@pytest.fixture(scope="module")
def trained(forecast_db):
    url, _engine, artifacts, _ = forecast_db
    tracking.configure(url, artifacts)
    with pytest.raises(NoChampion, match="train one first"):
        score(url, as_of=END)
    return train(url, artifacts, as_of=END)


def test_train_registers_a_champion_with_holdout_metrics(trained, forecast_db):
    assert trained.promoted and trained.alias == registry.CHAMPION
    assert str(registry.champion(MODEL_NAME).version) == trained.version
    run = tracking.client().get_run(trained.run_id)
    for name in ("roc_auc", "brier", "ece", "baseline_roc_auc"):
        assert 0 <= run.data.metrics[name] <= 1, name
    assert trained.metrics["roc_auc"] > trained.baseline_metrics["roc_auc"]
    assert int(run.data.params["horizon_months"]) == HORIZON_MONTHS


def test_score_writes_deal_and_period_forecasts(trained, forecast_db):
    url, engine, _, deals = forecast_db
    written = score(url, as_of=END, n_simulations=300)
    with engine.connect() as conn:
        rows = pd.read_sql_query(sa.text("select * from ml.forecasts"), conn)
        accuracy = pd.read_sql_query(sa.text("select * from ml.forecast_accuracy"), conn)
    assert written == len(rows)
    assert (rows["model_version"] == trained.version).all()
    assert (rows["mlflow_run_id"] == trained.run_id).all()
    assert (pd.to_datetime(rows["as_of"]) == END).all()

    per_deal = rows[rows["level"] == "deal"]
    open_ids = set(deals.loc[deals["closed_at"].isna(), "deal_id"])
    assert set(per_deal["deal_id"]) == open_ids
    assert per_deal["win_probability"].between(0, 1).all()
    assert (pd.to_datetime(per_deal["expected_close_date"]) >= END).all()
    assert set(per_deal["forecast_category"]) <= set(simulate.CATEGORIES)

    periods_ = rows[rows["level"] != "deal"]
    allcat = periods_[periods_["forecast_category"].isna()]
    months = allcat[allcat["period_grain"] == "month"]
    assert set(pd.to_datetime(months["period_start"])) == {
        pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01"), pd.Timestamp("2025-03-01")}
    assert set(allcat["period_grain"]) == {"month", "quarter"}
    assert (allcat["p10"] <= allcat["p50"]).all() and (allcat["p50"] <= allcat["p90"]).all()
    assert set(allcat["level"]) == {"total", "team", "rep"}
    assert set(allcat.loc[allcat["level"] == "rep", "owner_id"]) == set(SKILL)
    # everyone's expected bookings are the teams' added up
    jan = allcat[allcat["period_grain"].eq("month") & pd.to_datetime(
        allcat["period_start"]).eq("2025-01-01")]
    total = float(jan.loc[jan["level"] == "total", "expected_amount"].iloc[0])
    assert total == pytest.approx(float(jan.loc[jan["level"] == "team",
                                                "expected_amount"].sum()), rel=1e-6)
    assert total > 0

    # the components (closed, the deal categories, business not created yet) add up
    parts = periods_[periods_["forecast_category"].notna()]
    assert set(parts["forecast_category"]) == {"closed", *simulate.CATEGORIES,
                                               simulate.NEW_BUSINESS}
    key = ["level", "period_start", "period_grain", "team_id", "owner_id"]
    summed = parts.fillna({"team_id": -1, "owner_id": -1}).groupby(key)["expected_amount"].sum()
    whole = allcat.fillna({"team_id": -1, "owner_id": -1}).set_index(key)["expected_amount"]
    np.testing.assert_allclose(summed.loc[whole.index].astype(float), whole.astype(float),
                               rtol=1e-5, atol=1e-3)
    new_business = parts[(parts["forecast_category"] == simulate.NEW_BUSINESS)
                         & (parts["level"] == "total") & (parts["period_grain"] == "month")]
    assert new_business["expected_amount"].astype(float).sum() > 0

    # the accuracy view pairs every all-category period forecast with what was won
    assert len(accuracy) == len(allcat)
    assert accuracy["is_complete"].all()  # these periods (2025) have ended by today
    assert (accuracy["actual_amount"] == 0).all()  # nothing was won after the export


def test_the_marts_keep_what_came_after_a_snapshot_out(forecast_db):
    """The point-in-time guard of marts.deal_features / deal_stage_features, read through
    history.from_marts: facts recorded after a snapshot's moment (a deal closing, a deal
    created, a stage entered, an amount changed) leave the snapshot unchanged. The deal
    without recorded history is the leak the app tables had: it was read in the stage it
    closed in."""
    url, engine, _, _ = forecast_db
    as_of = pd.Timestamp("2024-07-01")

    def snapshot_features() -> pd.DataFrame:
        snap = features.snapshot(history.from_marts(engine), as_of)
        return features.build(snap).assign(deal_id=snap["deal_id"])

    def run(sql: str) -> None:
        with engine.begin() as conn:
            conn.execute(sa.text(sql))

    open_then = int(features.snapshot(history.from_marts(engine), as_of)["deal_id"].iloc[0])
    run("insert into app.sales_pipeline (id, name, pipeline_id, stage_id, owner_id, amount, "
        "deal_type, created_at) values (9001, 'no history', 1, 1, 1, 1000, 'small', "
        "'2024-06-01 00:00+00')")
    try:
        before = snapshot_features()
        assert before.loc[before["deal_id"] == 9001, "stage"].tolist() == ["qualify"]
        run("update app.sales_pipeline set stage_id = 3, is_won = true, "
            "closed_at = '2024-07-10 00:00+00' where id = 9001")
        run("insert into app.sales_pipeline (id, name, pipeline_id, stage_id, owner_id, amount, "
            "created_at) values (9002, 'later', 1, 1, 2, 1000, '2024-07-05 00:00+00')")
        run(f"update app.sales_pipeline set amount = amount * 3 where id = {open_then}")
        run("insert into app.deal_stage_history (deal_id, stage_id, stage_label, entered_at) "
            f"values (9002, 1, 'Qualify', '2024-07-05 00:00+00'), ({open_then}, 2, "
            "'Proposal', '2024-07-02 00:00+00')")
        after = snapshot_features()
        pd.testing.assert_frame_equal(after, before)
        assert history.from_marts(engine).stages.query("deal_id == 9001")["stage"].tolist() \
            == ["Qualify"]  # its pipeline's first open stage, not Won
    finally:
        run("delete from app.deal_stage_history where deal_id in (9001, 9002) "
            f"or (deal_id = {open_then} and entered_at = '2024-07-02 00:00+00')")
        run("delete from app.sales_pipeline where id in (9001, 9002)")
        run(f"update app.sales_pipeline set amount = amount / 3 where id = {open_then}")


def test_missing_marts_say_what_to_run(forecast_db, view_set_aside):
    from salesops.errors import SalesopsError

    _, engine, _, _ = forecast_db
    with view_set_aside(engine, "marts.deal_stage_features"), pytest.raises(
            SalesopsError, match=r"marts.deal_stage_features has not been built yet: run "
                                 r"the pipeline first"):
        history.from_marts(engine)


def test_forecast_accuracy_counts_what_was_won(forecast_db, trained):
    """The actual of a period, split by whether each deal existed at the as-of date, next to
    the same forecast's new-business component: what calibrates each part next time."""
    url, engine, _, _ = forecast_db
    with engine.begin() as conn:
        conn.execute(sa.text(
            "insert into ml.forecasts (as_of, level, period_start, period_grain, p10, p50, "
            "p90, expected_amount, forecast_category, model_name, model_version, "
            "mlflow_run_id) values "
            "('2024-05-15', 'total', '2024-06-01', 'month', 0, 1, 2, 1, null, 'test', '0', 'r'),"
            "('2024-05-15', 'total', '2024-06-01', 'month', 0, 0.5, 1, 0.25, 'new_business',"
            " 'test', '0', 'r')"))
        got = conn.execute(sa.text(
            "select actual_amount, actual_pipeline_amount, actual_new_business_amount, "
            "expected_new_business_amount, is_complete, in_p10_p90 "
            "from ml.forecast_accuracy where model_name = 'test'")).one()
        expected, created_after = conn.execute(sa.text(
            "select coalesce(sum(amount), 0), coalesce(sum(amount) filter (where "
            "created_at > '2024-05-15'), 0) from app.sales_pipeline where is_won "
            "and closed_at >= '2024-06-01' and closed_at < '2024-07-01'")).one()
        conn.execute(sa.text("delete from ml.forecasts where model_name = 'test'"))
    assert float(got.actual_amount) == float(expected) > 0
    assert float(got.actual_new_business_amount) == float(created_after) > 0
    assert float(got.actual_pipeline_amount) == float(expected - created_after) > 0
    assert float(got.expected_new_business_amount) == 0.25
    assert got.is_complete and got.in_p10_p90 is False


# --- the real data set --------------------------------------------------------------------


def test_maven_crm_reads_through_the_mapping(shared_data):
    from bench.forecast_backtest import load

    h = load(shared_data / "crm" / "maven_crm")
    d = h.deals
    assert len(d) == 8300  # the 500 Prospecting deals have no engage date: not placeable
    assert d["is_won"].sum() == 4238 and d["closed_at"].notna().sum() == 4238 + 2473
    assert set(d["team"]) == {"Central", "East", "West"}
    assert d["amount"].notna().all()  # open deals priced from products.csv (GTXPro mapped)
    assert d.loc[d["is_won"], "booked_amount"].sum() == 10_005_534


def test_scoring_records_drift_against_the_training_reference(trained, forecast_db,
                                                              monkeypatch):
    from ml import monitoring

    url, engine, _, _ = forecast_db
    monkeypatch.setattr(monitoring, "MIN_ROWS", 5)  # a few dozen deals are open at END
    score(url, as_of=END, n_simulations=200)
    with engine.connect() as conn:
        latest = monitoring.latest_check(conn, MODEL_NAME)
    assert set(latest.loc[latest["kind"] == "feature", "feature"]) == set(features.FEATURES)
    assert list(latest.loc[latest["kind"] == "score", "feature"]) == [monitoring.SCORE]
    assert (latest["model_version"] == trained.version).all()


def test_a_later_model_is_judged_with_the_champion_on_snapshots_it_never_saw(trained,
                                                                            forecast_db):
    """After every test that scores with `trained`: it may move the champion. Retrained at the
    same date, the champion learned every held-out snapshot, so its logged value decides;
    two months later, the newest snapshots are new to it, and both are scored on them."""
    url, _, artifacts, _ = forecast_db
    client = tracking.client()
    same = train(url, artifacts, as_of=END)
    tags = client.get_run(same.run_id).data.tags
    assert tags["promotion.compared_on"] == registry.OWN_HOLDOUT
    assert not same.promoted  # a tie never promotes
    later = train(url, artifacts, as_of=END + pd.DateOffset(months=2))
    tags = client.get_run(later.run_id).data.tags
    assert tags["promotion.compared_on"] == registry.SAME_HOLDOUT
    assert tags["promotion.champion_version"] == trained.version
    assert 0 <= float(tags["promotion.champion_value"]) <= 1
    assert later.promoted == (float(tags["promotion.value"])
                              > float(tags["promotion.champion_value"]))


def test_a_crm_export_needs_a_deals_mapping_and_its_file(tmp_path):
    from pathlib import Path

    from salesops.errors import SalesopsError

    examples = Path(__file__).resolve().parents[2] / "examples"
    with pytest.raises(SalesopsError, match="no such file"):
        history.from_file(tmp_path, examples / "maven_crm_deals.yaml")
    (tmp_path / "sales_pipeline.csv").write_text("opportunity_id,sales_agent\nA1,Ann\n")
    with pytest.raises(SalesopsError, match="entity: deals"):
        history.from_file(tmp_path, examples / "x_education_leads.yaml")
