"""Lead scoring end to end on a real PostgreSQL and a real MLflow store (schema `mlflow`).

`marts.lead_features` is built by dbt; here it is a plain table with the same contract, filled
with synthetic leads whose conversion depends on source, engagement and seniority.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from ml import registry, tracking
from ml.errors import NoChampion, NotEnoughData
from ml.lead_scoring import BAND_THRESHOLDS, MODEL_NAME, band_for, features, score, train
from ml.lead_scoring.evaluate import evaluate
from ml.metrics import expected_calibration_error
from salesops.errors import SalesopsError
from salesops.settings import Settings

N_LEADS = 800

LEAD_FEATURES_DDL = """
create table marts.lead_features (
    lead_id bigint primary key, contact_id bigint, account_id bigint, owner_id bigint,
    campaign_id bigint, created_at timestamptz not null, lead_source text, status text,
    company text, title text, industry text, employees integer, country text,
    email_domain text, is_free_email boolean, has_phone boolean,
    touchpoints_before_creation integer, touchpoints_30d_after_creation integer,
    email_opens integer, email_clicks integer, form_fills integer, inbound_emails integer,
    is_converted boolean, converted_at timestamptz, is_closed boolean, closed_at timestamptz
)
"""

SOURCE_EFFECT = {"referral": 2.0, "event": 1.0, "webinar": 0.6, "web": 0.2,
                 "cold_call": -1.4, "purchased_list": -1.8}
TITLES = {"CEO": 1.0, "VP of Sales": 0.9, "Director, Marketing": 0.5, "Sales Manager": 0.1,
          "Account Executive": -0.3, "Software Engineer": -0.7, None: -0.4}


def synthetic_leads(n: int = N_LEADS, seed: int = 7) -> pd.DataFrame:
    """Leads over two years; the newest are mostly open, older ones mostly closed."""
    rng = np.random.default_rng(seed)
    created = (pd.Timestamp("2024-01-01", tz="UTC")
               + pd.to_timedelta(np.sort(rng.uniform(0, 720, n)), unit="D"))
    source = rng.choice(list(SOURCE_EFFECT), n, p=[0.12, 0.12, 0.16, 0.3, 0.15, 0.15])
    title = rng.choice(np.array(list(TITLES), dtype=object), n)
    form_fills = rng.poisson(np.where(np.isin(source, ["web", "webinar"]), 1.5, 0.5))
    email_opens = rng.poisson(3, n)
    email_clicks = rng.binomial(email_opens, 0.3)
    inbound = rng.poisson(0.4, n)
    free_email = rng.random(n) < 0.3
    has_phone = rng.random(n) < 0.6
    employees = np.round(rng.lognormal(4, 1.5, n)).astype(float)
    employees[rng.random(n) < 0.1] = np.nan
    logit = (-1.3 + np.vectorize(SOURCE_EFFECT.get)(source)
             + np.array([TITLES[t] for t in title]) + 0.8 * form_fills + 0.6 * email_clicks
             + 0.6 * inbound - 0.9 * free_email + 0.5 * has_phone
             # mid-market companies convert best: a non-linear effect a linear model misses
             + np.where((employees >= 50) & (employees <= 1000), 0.8, -0.4)
             + rng.normal(0, 0.5, n))
    converted = rng.random(n) < 1 / (1 + np.exp(-logit))
    age = (created.max() - created).days
    closed = np.where(age > 60, rng.random(n) < 0.95, rng.random(n) < 0.1)
    converted &= closed
    status = np.where(~closed, "working", np.where(converted, "converted", "disqualified"))
    closed_at = created + pd.to_timedelta(20, unit="D")
    return pd.DataFrame({
        "lead_id": np.arange(1, n + 1),
        "campaign_id": pd.Series(rng.integers(1, 5, n), dtype="Int64").where(rng.random(n) < 0.4),
        "created_at": created,
        "lead_source": source, "status": status, "company": [f"Co {i}" for i in range(n)],
        "title": title, "industry": rng.choice(["software", "retail", "finance", None], n),
        "employees": employees, "country": rng.choice(["US", "DE", "GB", None], n),
        "is_free_email": free_email, "has_phone": has_phone,
        "touchpoints_before_creation": rng.poisson(2, n),
        "touchpoints_30d_after_creation": rng.poisson(3, n),
        "email_opens": email_opens, "email_clicks": email_clicks, "form_fills": form_fills,
        "inbound_emails": inbound, "is_converted": converted,
        "converted_at": pd.Series(closed_at).where(converted), "is_closed": closed,
        "closed_at": pd.Series(closed_at).where(closed),
    })


def load_mart(engine: sa.Engine, frame: pd.DataFrame) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("truncate marts.lead_features"))
    frame.to_sql("lead_features", engine, schema="marts", if_exists="append", index=False)


#: A mart built earlier in the session (by the dbt tests) is set aside here, then restored.
SET_ASIDE = "lead_features__set_aside_by_ml_tests"
_KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view"}


def _mart_kind(conn: sa.Connection, name: str) -> str | None:
    kind = conn.execute(sa.text(
        "select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'marts' and c.relname = :name"), {"name": name}).scalar()
    return _KINDS[kind] if kind else None


@pytest.fixture(scope="module")
def leads(engine: sa.Engine) -> Iterator[pd.DataFrame]:
    frame = synthetic_leads()
    with engine.begin() as conn:
        conn.execute(sa.text("truncate app.leads restart identity cascade"))
        conn.execute(sa.text("create schema if not exists marts"))
        existing = _mart_kind(conn, "lead_features")
        if existing:
            conn.execute(sa.text(f"alter {existing} marts.lead_features rename to {SET_ASIDE}"))
        conn.execute(sa.text(LEAD_FEATURES_DDL))
    app_leads = frame[["lead_id", "company", "title", "lead_source", "status", "created_at"]]
    app_leads = app_leads.rename(columns={"lead_id": "id"}).assign(
        disqualified_reason=np.where(frame["status"] == "disqualified", "no budget", None))
    app_leads.to_sql("leads", engine, schema="app", if_exists="append", index=False)
    load_mart(engine, frame)
    yield frame
    with engine.begin() as conn:
        conn.execute(sa.text("drop table marts.lead_features"))
        if existing:
            conn.execute(sa.text(f"alter {existing} marts.{SET_ASIDE} rename to lead_features"))
        conn.execute(sa.text("truncate app.leads restart identity cascade"))


@contextmanager
def mart_replaced(engine: sa.Engine, original: pd.DataFrame, replacement: pd.DataFrame):
    load_mart(engine, replacement)
    try:
        yield
    finally:
        load_mart(engine, original)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("mlartifacts")


@pytest.fixture(scope="module")
def champion(database_url, leads, artifacts):
    """The first model trained on the good data: the champion."""
    tracking.configure(database_url, artifacts)
    client = tracking.client()
    if client.search_registered_models(f"name = '{MODEL_NAME}'"):
        client.delete_registered_model(MODEL_NAME)
    return train(database_url, artifacts)


def open_ids(leads: pd.DataFrame) -> set[int]:
    return set(leads.loc[~leads["is_closed"], "lead_id"].astype(int))


# --- training ----------------------------------------------------------------------------


def test_train_logs_run_and_registers_champion(champion, engine, artifacts):
    assert champion.promoted and champion.alias == registry.CHAMPION
    assert str(registry.champion(MODEL_NAME).version) == champion.version

    run = tracking.client().get_run(champion.run_id)
    for metric in ("roc_auc", "pr_auc", "brier", "ece"):
        for name in (metric, f"baseline_{metric}"):
            assert 0.0 <= run.data.metrics[name] <= 1.0, name
    assert run.data.params["n_train"] and run.data.params["holdout_cutoff"]

    import mlflow

    info = mlflow.models.get_model_info(f"models:/{MODEL_NAME}/{champion.version}")
    assert set(info.signature.inputs.input_names()) == set(features.FEATURES)
    assert info.saved_input_example_info is not None
    # The model is files on disk, under the experiment's folder (the folder of whichever
    # test first created the experiment in this shared database: it is fixed at creation).
    location = tracking.client().get_experiment(run.info.experiment_id).artifact_location
    assert any(Path(urlparse(location).path).rglob("MLmodel"))

    with engine.connect() as conn:
        recorded = dict(conn.execute(sa.text(
            "select metric, value from ml.model_metrics where model_name = :m "
            "and model_version = :v and mlflow_run_id = :r"),
            {"m": MODEL_NAME, "v": champion.version, "r": champion.run_id}).all())
    assert recorded["roc_auc"] == pytest.approx(champion.metrics["roc_auc"])
    assert champion.evaluation["eval"] == MODEL_NAME
    assert set(champion.evaluation["baseline"]["logistic_regression"]) == {
        "roc_auc", "pr_auc", "brier", "ece"}


def test_model_learns_the_signal(champion):
    m, base = champion.metrics, champion.baseline_metrics
    print(json.dumps(champion.evaluation))
    assert m["roc_auc"] > 0.7  # ranks far better than chance (0.5)
    assert m["roc_auc"] >= base["roc_auc"] - 0.05  # at least about as good as the baseline
    assert 0.0 < m["brier"] < 0.25 and 0.0 <= m["ece"] < 0.2


def test_evaluate_prints_what_train_logged(champion, database_url):
    record = evaluate(database_url)
    assert set(record) == {"eval", "data", "metrics", "baseline", "excluded_columns"}
    assert record["excluded_columns"] == {}  # nothing in the mart leaks
    assert record["metrics"] == champion.evaluation["metrics"]  # same split, same seed


def test_tracking_store_lives_in_the_mlflow_schema(champion, engine, database_url):
    uri = tracking.tracking_uri(database_url)
    assert uri.startswith("postgresql+psycopg2://") and "options=-csearch_path%3Dmlflow" in uri
    with engine.connect() as conn:
        def where(table: str) -> str | None:
            return conn.execute(sa.text("select to_regclass(:t)::text"), {"t": table}).scalar()

        for table in ("experiments", "runs", "registered_models", "model_versions",
                      "alembic_version"):
            assert where(f"mlflow.{table}") == f"mlflow.{table}"
            assert where(f"public.{table}") is None
        assert conn.execute(sa.text("select count(*) from app.alembic_version")).scalar() == 1


def test_mlflow_tracking_uri_setting_wins(monkeypatch, database_url):
    override = "http://127.0.0.1:5999"
    monkeypatch.setattr(tracking, "get_settings",
                        lambda: Settings(mlflow_tracking_uri=override))
    assert tracking.tracking_uri(database_url) == override
    assert tracking.describe_store(database_url) == override


def test_retraining_on_worse_data_does_not_steal_champion(champion, database_url, engine,
                                                          leads, artifacts):
    client = tracking.client()
    cutoff = pd.Timestamp(client.get_run(champion.run_id).data.params["holdout_cutoff"])
    # the training period's outcomes shuffled, the holdout's kept: a worse model, judged
    # against the champion on the same (true) holdout
    rng = np.random.default_rng(1)
    training = (leads["is_closed"] & (leads["created_at"] < cutoff)).to_numpy()
    worse = leads.copy()
    worse.loc[training, "is_converted"] = rng.permutation(leads.loc[training, "is_converted"])
    with mart_replaced(engine, leads, worse):
        result = train(database_url, artifacts)
    assert not result.promoted and result.alias == registry.CHALLENGER
    assert result.version != champion.version
    assert result.metrics["roc_auc"] < champion.metrics["roc_auc"]
    assert str(registry.champion(MODEL_NAME).version) == champion.version
    challenger = client.get_model_version_by_alias(MODEL_NAME, registry.CHALLENGER)
    assert str(challenger.version) == result.version
    tags = client.get_run(result.run_id).data.tags
    assert tags["promotion.compared_on"] == registry.SAME_HOLDOUT
    # the same holdout as the champion's own: it scores what it logged
    assert float(tags["promotion.champion_value"]) == pytest.approx(champion.metrics["roc_auc"])
    assert float(tags["promotion.value"]) == pytest.approx(result.metrics["roc_auc"])


def test_promotion_judges_the_champion_on_the_new_holdout(database_url, artifacts):
    """A challenger is promoted when it beats the champion on the same holdout rows, even
    though the champion logged a higher value on its own; when the champion cannot be
    scored on them, its logged value decides, and the run says which comparison it was."""
    import mlflow
    from sklearn.linear_model import LogisticRegression

    tracking.configure(database_url, artifacts)
    name = "promotion_check"
    X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0] * 5})
    model = LogisticRegression().fit(X, (X["x"] > 1.5).astype(int))

    def register(logged: float) -> tuple[str, str]:
        with mlflow.start_run(experiment_id=tracking.experiment_id(name)) as run:
            mlflow.log_metric("roc_auc", logged)
            return tracking.log_classifier(model, X.head(2), name, []), run.info.run_id

    first, first_run = register(0.99)
    assert registry.promote(name, first, "roc_auc", 0.99).alias == registry.CHAMPION
    second, second_run = register(0.7)
    judged = []

    def same_holdout(champion_model, run):
        judged.append((champion_model, run.info.run_id))
        return 0.6, 0.7

    promotion = registry.promote(name, second, "roc_auc", 0.7, on_holdout=same_holdout)
    assert promotion.promoted and promotion.compared_on == registry.SAME_HOLDOUT
    assert promotion.previous_champion == first and promotion.previous_value == 0.6
    assert isinstance(judged[0][0], LogisticRegression) and judged[0][1] == first_run

    third, third_run = register(0.65)

    def cannot(champion_model, run):
        raise ValueError("the champion was trained on other columns")

    promotion = registry.promote(name, third, "roc_auc", 0.65, on_holdout=cannot)
    assert promotion.alias == registry.CHALLENGER
    assert promotion.compared_on == registry.OWN_HOLDOUT and promotion.previous_value == 0.7
    assert str(registry.champion(name).version) == second
    tags = tracking.client().get_run(third_run).data.tags
    assert tags["promotion.compared_on"] == registry.OWN_HOLDOUT
    assert tags["promotion.alias"] == registry.CHALLENGER


# --- scoring -----------------------------------------------------------------------------


def test_score_writes_one_row_per_open_lead(champion, database_url, engine, leads):
    with engine.begin() as conn:
        conn.execute(sa.text("delete from ml.lead_scores"))
    written = score(database_url).written
    expected = open_ids(leads)
    assert written == len(expected) > 0
    rows = pd.read_sql_query(sa.text("select * from ml.lead_scores"), engine)
    assert set(rows["lead_id"]) == expected and rows["lead_id"].is_unique
    assert rows["score"].between(0, 100).all() and rows["probability"].between(0, 1).all()
    assert (rows["score"] == np.rint(rows["probability"] * 100)).all()
    assert (rows["band"] == band_for(rows["score"])).all()
    assert rows["band"].nunique() > 1  # the scores spread over bands
    assert (rows["model_name"] == MODEL_NAME).all()
    assert (rows["model_version"] == champion.version).all()
    assert (rows["mlflow_run_id"] == champion.run_id).all()
    for reasons in rows["reasons"]:
        assert len(reasons) == 3
        assert {r["feature"] for r in reasons} <= set(features.FEATURES)
        assert all(r["direction"] in ("up", "down") and isinstance(r["contribution"], float)
                   for r in reasons)
        sizes = [abs(r["contribution"]) for r in reasons]
        assert sizes == sorted(sizes, reverse=True)
    # the strongest driver of the synthetic signal shows up among the reasons
    names = rows["reasons"].map(lambda reasons: {r["feature"] for r in reasons})
    assert names.map(lambda n: "lead_source" in n).mean() > 0.3


def test_scoring_in_chunks_writes_what_one_pass_gives(champion, database_url, engine, leads,
                                                      monkeypatch):
    """Chunks (read, predict, explain, COPY streamed) change nothing: scores, probabilities
    and reasons are what predicting and explaining all open leads at once gives."""
    import importlib

    import mlflow

    from ml import explain

    scoring = importlib.import_module("ml.lead_scoring.score")

    model = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}/{champion.version}")
    X = features.build(features.load_open(engine))
    probability = np.clip(model.predict_proba(X)[:, 1], 0.0, 1.0)
    reasons = explain.reasons_json(explain.tree_contributions(model, X), X, k=3)
    with engine.begin() as conn:
        conn.execute(sa.text("delete from ml.lead_scores"))
    monkeypatch.setattr(scoring, "SCORE_CHUNK_ROWS", 7)
    assert scoring.write_scores(engine, model, "v", "r").written == len(X)
    rows = pd.read_sql_query(sa.text("select lead_id, score, probability, reasons::text"
                                     " as reasons from ml.lead_scores order by lead_id"), engine)
    assert rows["score"].tolist() == np.rint(probability * 100).astype(int).tolist()
    assert np.allclose(rows["probability"], probability, rtol=0, atol=1e-15)
    assert [json.loads(r) for r in rows["reasons"]] == [json.loads(r) for r in reasons]


def test_score_a_subset_by_lead_ids(champion, database_url, engine, leads):
    with engine.begin() as conn:
        conn.execute(sa.text("delete from ml.lead_scores"))
    wanted = sorted(open_ids(leads))[:5]
    closed_one = int(leads.loc[leads["is_closed"], "lead_id"].iloc[0])
    assert score(database_url, lead_ids=[*wanted, closed_one]).written == len(wanted)
    with engine.connect() as conn:
        scored = conn.execute(sa.text("select lead_id from ml.lead_scores")).scalars().all()
    assert sorted(scored) == wanted
    assert score(database_url, lead_ids=[]).written == 0


def test_scoring_without_a_champion_says_to_train_first(champion, database_url):
    assert registry.champion("no_such_model") is None
    client = tracking.client()
    client.delete_registered_model_alias(MODEL_NAME, registry.CHAMPION)
    try:
        with pytest.raises(NoChampion, match="train one first") as error:
            score(database_url)
        assert isinstance(error.value, SalesopsError)
    finally:
        client.set_registered_model_alias(MODEL_NAME, registry.CHAMPION, champion.version)


# --- bad input ---------------------------------------------------------------------------


def test_too_few_closed_leads_is_a_clear_error(database_url, engine, leads, artifacts):
    few = leads[leads["is_closed"]].head(30)
    with mart_replaced(engine, leads, few), pytest.raises(NotEnoughData) as error:
        train(database_url, artifacts)
    message = str(error.value)
    assert "found 30 closed leads" in message and "at least 100" in message
    assert isinstance(error.value, SalesopsError)


def test_a_single_outcome_is_a_clear_error(database_url, engine, leads, artifacts):
    never = leads.assign(is_converted=False)
    n_closed = int(leads["is_closed"].sum())
    with mart_replaced(engine, leads, never), pytest.raises(NotEnoughData) as error:
        train(database_url, artifacts)
    assert f"found {n_closed} closed leads (0 converted" in str(error.value)


# --- pure pieces -------------------------------------------------------------------------


def test_bands_follow_the_thresholds():
    assert BAND_THRESHOLDS == (("A", 75), ("B", 50), ("C", 25))
    assert list(band_for([100, 75, 74, 50, 49, 25, 24, 0])) == list("AABBCCDD")


def test_title_seniority():
    titles = pd.Series(["CEO", "Vice President, Sales", "Head of Growth", "Sales Manager",
                        "Engineer", None, "  ", "Co-Founder & CTO"])
    assert list(features.title_seniority(titles)) == [
        "c_level", "vp", "director", "manager", "individual", "unknown", "unknown", "c_level"]


def test_features_never_use_the_outcome():
    assert not features.OUTCOME_COLUMNS & set(features.FEATURES)
    built = features.build(synthetic_leads(50))
    assert list(built.columns) == features.FEATURES


def test_expected_calibration_error():
    y = np.array([0, 0, 1, 1] * 25)
    assert expected_calibration_error(y, np.full(100, 0.5)) == pytest.approx(0.0)
    assert expected_calibration_error(y, y.astype(float)) == pytest.approx(0.0)
    assert expected_calibration_error(y, 1 - y.astype(float)) == pytest.approx(1.0)


def test_a_missing_champion_metric_never_defends():
    assert registry.beats(0.8, None)
    assert registry.beats(0.81, 0.8) and not registry.beats(0.8, 0.8)


# --- score changes, fallbacks and odd leads ------------------------------------------------


def _owner(engine: sa.Engine) -> int:
    with engine.begin() as conn:
        role = conn.execute(sa.text(
            "insert into app.roles (name) values ('sales_rep') on conflict (name) do update "
            "set name = excluded.name returning id")).scalar()
        return conn.execute(sa.text(
            "insert into app.users (email, full_name, role_id) values "
            "('rep@ml.test', 'Rep', :r) on conflict (email) do update set full_name = "
            "excluded.full_name returning id"), {"r": role}).scalar()


def test_a_score_change_past_the_threshold_notifies_the_owner(champion, database_url, engine,
                                                             leads):
    from ml.lead_scoring import SCORE_CHANGED

    owner = _owner(engine)
    moved, still = sorted(open_ids(leads))[:2]
    with engine.begin() as conn:
        conn.execute(sa.text("delete from ml.lead_scores"))
        conn.execute(sa.text("delete from app.events where topic = :t"), {"t": SCORE_CHANGED})
        conn.execute(sa.text("update app.leads set owner_id = :o where id = :i"),
                     {"o": owner, "i": moved})
    first = score(database_url, lead_ids=[moved, still])
    assert first.written == 2 and first.changes == 0  # a first score is no change
    assert score(database_url, lead_ids=[moved, still]).changes == 0  # same data, same score
    with engine.begin() as conn:  # pretend the last score of `moved` was far away
        conn.execute(sa.text(
            "update ml.lead_scores set score = case when score >= 50 then 0 else 100 end "
            "where lead_id = :i"), {"i": moved})
    again = score(database_url, lead_ids=[moved, still], change_threshold=10)
    assert again.changes == 1
    with engine.connect() as conn:
        events = conn.execute(sa.text(
            "select aggregate_id, payload from app.events where topic = :t"),
            {"t": SCORE_CHANGED}).all()
    assert len(events) == 1 and events[0].aggregate_id == str(moved)
    payload = events[0].payload
    assert payload["owner_id"] == owner and abs(payload["change"]) >= 50
    assert payload["model_version"] == champion.version
    assert payload["score"] == payload["previous_score"] + payload["change"]


def test_a_lead_with_every_feature_missing_is_reported_not_scored(champion, database_url,
                                                                  engine, leads):
    blank_id = sorted(open_ids(leads))[0]
    blank = leads.copy()
    inputs = [c for c in features.INPUTS if c in blank.columns]
    for column in inputs:  # nullable dtypes, so the table keeps its column types
        nullable = {"b": "boolean", "i": "Int64"}.get(blank[column].dtype.kind)
        if nullable:
            blank[column] = blank[column].astype(nullable)
        blank.loc[blank["lead_id"] == blank_id, column] = pd.NA
    with mart_replaced(engine, leads, blank):
        run = score(database_url, lead_ids=sorted(open_ids(leads))[:3])
    assert run.unscorable == [blank_id] and run.written == 2


def test_unseen_categories_score_like_unknown_ones(champion, database_url):
    import mlflow

    model = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}/{champion.version}")
    X = features.build(synthetic_leads(20, seed=11))
    unseen = X.assign(lead_source="carrier pigeon", industry="space mining")
    unknown = X.assign(lead_source="some never seen source", industry="another unseen one")
    p_unseen = model.predict_proba(unseen)[:, 1]
    assert np.isfinite(p_unseen).all() and ((p_unseen >= 0) & (p_unseen <= 1)).all()
    assert np.allclose(p_unseen, model.predict_proba(unknown)[:, 1])  # one treatment


def test_an_empty_training_set_is_a_clear_error(database_url, engine, leads, artifacts):
    with mart_replaced(engine, leads, leads.head(0)), pytest.raises(NotEnoughData) as error:
        train(database_url, artifacts)
    assert "found 0 closed leads" in str(error.value)


def test_a_down_tracking_store_serves_the_last_champion_or_says_so(
        champion, database_url, engine, leads, artifacts, monkeypatch, tmp_path):
    from ml import serving
    from ml.errors import TrackingUnavailable

    with engine.begin() as conn:
        conn.execute(sa.text("delete from ml.lead_scores"))
    score(database_url, lead_ids=sorted(open_ids(leads))[:3])  # records the served champion
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    monkeypatch.setattr(tracking, "get_settings",
                        lambda: Settings(mlflow_tracking_uri="http://127.0.0.1:9"))
    try:
        run = score(database_url, lead_ids=sorted(open_ids(leads))[:3])
        assert run.fallback and run.written == 3 and run.model_version == champion.version
        with engine.connect() as conn:
            versions = conn.execute(sa.text(
                "select distinct model_version, mlflow_run_id from ml.lead_scores")).all()
        assert versions == [(champion.version, champion.run_id)]

        served = serving.served_file(MODEL_NAME)
        served.rename(tmp_path / "served.json")  # never served before: a clear error
        try:
            with pytest.raises(TrackingUnavailable, match="cannot be reached"):
                score(database_url)
        finally:
            (tmp_path / "served.json").rename(served)
    finally:
        monkeypatch.undo()
        tracking.configure(database_url, artifacts)


# --- drift monitoring ----------------------------------------------------------------------


def test_scoring_checks_drift_against_the_reference_saved_with_the_run(
        champion, database_url, engine, leads, monkeypatch):
    import mlflow

    from ml import monitoring

    reference = mlflow.artifacts.load_dict(
        f"runs:/{champion.run_id}/{monitoring.REFERENCE_ARTIFACT}")
    assert set(reference["features"]) == set(features.FEATURES)
    assert reference["rows"] == int(leads["is_closed"].sum())

    monkeypatch.setattr(monitoring, "MIN_ROWS", 20)  # the synthetic history has ~100 open leads
    with engine.begin() as conn:
        conn.execute(sa.text("delete from ml.model_drift"))
    run = score(database_url)
    assert run.drift.checked and run.drift.max_feature_psi is not None
    assert score(database_url, lead_ids=sorted(open_ids(leads))[:5]).drift.checked is False

    # the open leads turn into cold-call leads with a lot more e-mail activity
    open_ = ~leads["is_closed"]
    shifted = leads.copy()
    shifted.loc[open_, "lead_source"] = "cold_call"
    shifted.loc[open_, "email_opens"] = leads.loc[open_, "email_opens"] + 20
    with mart_replaced(engine, leads, shifted):
        flagged = score(database_url)
    assert flagged.drift.flagged
    assert {"lead_source", "email_opens"} <= set(flagged.drift.drifted)
    with engine.connect() as conn:
        latest = monitoring.latest_check(conn, MODEL_NAME)
        checks = conn.execute(sa.text(
            "select count(distinct checked_at) from ml.model_drift")).scalar()
    assert checks == 2  # one per full scoring run; the five-lead run was not checked
    drifted = latest.set_index("feature")
    assert bool(drifted.loc["lead_source", "drifted"]) and drifted.loc["lead_source", "psi"] > 1
    assert (latest["model_version"] == champion.version).all()
    assert len(latest) == len(features.FEATURES) + 1  # every feature and the score


def test_reading_by_copy_gives_the_features_read_sql_gave(engine, leads):
    """load_open reads by COPY ... TO STDOUT; the model input and the unscorable leads must be
    what the row-by-row read through the driver gave, awkward text and nulls included."""
    odd = leads.copy()
    ids = sorted(open_ids(leads))[:6]
    for column, values in {
        "title": ["NA", '"Chief", of\tthings', "  ", "", "null", "Vice\nPresident"],
        "lead_source": ["N/A", "", None, "web", "referral ", "café"],
        "employees": [None, 0, None, 5, None, 7],
        "is_free_email": [None, True, False, None, True, None],
    }.items():
        nullable = {"b": "boolean", "i": "Int64", "f": "Int64"}.get(odd[column].dtype.kind)
        if nullable:
            odd[column] = odd[column].astype(nullable)
        for lead_id, value in zip(ids, values, strict=True):
            odd.loc[odd["lead_id"] == lead_id, column] = pd.NA if value is None else value
    query = sa.text(
        f"select {features._COLUMNS} from marts.lead_features f where not coalesce("
        "f.is_closed, false) and exists (select 1 from app.leads l where l.id = f.lead_id "
        "and l.deleted_at is null) order by f.lead_id")
    with mart_replaced(engine, leads, odd):
        with engine.connect() as conn:
            expected = pd.read_sql_query(query, conn)
        got = features.load_open(engine)
        subset = features.load_open(engine, ids[:2] + [10**12])
    assert list(subset["lead_id"]) == ids[:2]
    assert got["lead_id"].tolist() == expected["lead_id"].tolist() and len(got) > 6
    assert (got["created_at"] == expected["created_at"]).all()
    pd.testing.assert_frame_equal(features.build(got), features.build(expected))
    assert features.nothing_known(got).tolist() == features.nothing_known(expected).tolist()
