"""Next best action on a real PostgreSQL and MLflow store: synthetic leads whose reps logged
calls, emails, meetings and nurture campaigns, where meetings move leads forward most and
nurture barely; the rules; the replay against the most frequent action; ml.next_best_actions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from ml import registry, tracking
from ml.errors import NoChampion, NotEnoughData
from ml.next_best_action import MODEL_NAME, history
from ml.next_best_action import model as nba
from ml.next_best_action.evaluate import replay
from ml.next_best_action.score import score
from ml.next_best_action.train import train

START = pd.Timestamp("2024-01-01")
NOW = pd.Timestamp("2024-10-01")
UPLIFT = {"meeting": 0.35, "call": 0.2, "email": 0.08, "nurture": 0.02, "wait": 0.0}
CHOICE = {"wait": 0.4, "email": 0.25, "call": 0.15, "meeting": 0.1, "nurture": 0.1}


def synthetic(n: int = 260, seed: int = 11) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    leads, tasks, members = [], [], []
    for i in range(1, n + 1):
        created = START + pd.Timedelta(days=float(rng.uniform(0, 265)))
        t, status, qualified, closed = created, "working", None, None
        nurtured = False
        for _week in range(8):
            if t + pd.Timedelta(days=14) > NOW:
                break
            action = rng.choice(list(CHOICE), p=list(CHOICE.values()))
            if action == "nurture" and nurtured:
                action = "wait"
            if action == "nurture":
                nurtured = True
                members.append({"lead_id": i, "contact_id": i, "created_at": t})
            elif action != "wait":
                tasks.append({"lead_id": i, "task_type": action, "status": "completed",
                              "title": f"{action} lead {i}",
                              "completed_at": t + pd.Timedelta(days=1)})
            if rng.random() < 0.04 + UPLIFT[action]:
                qualified = t + pd.Timedelta(days=3)
                status, closed = "converted", t + pd.Timedelta(days=4)
                break
            t += pd.Timedelta(days=7)
        else:
            status, closed = "disqualified", t
        leads.append({"id": i, "contact_id": i, "status": status, "created_at": created,
                      "qualified_at": qualified, "converted_at": closed if status ==
                      "converted" else None, "updated_at": closed or created,
                      "disqualified_reason": "no fit" if status == "disqualified" else None})
    frames = {"leads": pd.DataFrame(leads), "tasks": pd.DataFrame(tasks),
              "campaign_members": pd.DataFrame(members)}
    for frame in frames.values():
        for column in frame.columns:
            if column.endswith("_at") and column != "status":
                frame[column] = pd.to_datetime(frame[column]).dt.tz_localize("UTC")
    return frames


def load_app(engine: sa.Engine, frames: dict[str, pd.DataFrame]) -> None:
    leads = frames["leads"]
    n = len(leads)
    contacts = pd.DataFrame({
        "id": np.arange(1, n + 3), "first_name": "P",
        "email_opt_out": [i % 10 == 0 for i in range(1, n + 3)],
        "marketing_consent": True})
    contacts.loc[contacts["id"] == n + 1, "email_opt_out"] = True   # the deal's contact
    contacts.loc[contacts["id"] == n + 2, "email_opt_out"] = False
    with engine.begin() as conn:
        conn.execute(sa.text("insert into app.communication_templates (id, name, channel, body)"
                             " values (1, 'follow-up', 'email', 'Hi'),"
                             " (2, 'case-study', 'email', 'See')"))
        conn.execute(sa.text("insert into app.marketing_campaigns (id, name, template_id) "
                             "values (1, 'Nurture', 2)"))
        conn.execute(sa.text("insert into app.pipelines (id, name, is_default) "
                             "values (1, 'Sales', true)"))
        conn.execute(sa.text(
            "insert into app.pipeline_stages (id, pipeline_id, name, position, probability, "
            "forecast_category, is_closed, is_won) values "
            "(1, 1, 'Qualify', 1, 20, 'pipeline', false, false),"
            "(3, 1, 'Won', 3, 100, 'closed', true, true)"))
    contacts.to_sql("contacts", engine, schema="app", if_exists="append", index=False)
    leads.to_sql("leads", engine, schema="app", if_exists="append", index=False)
    frames["tasks"].to_sql("tasks", engine, schema="app", if_exists="append", index=False)
    frames["campaign_members"].assign(campaign_id=1).to_sql(
        "campaign_members", engine, schema="app", if_exists="append", index=False)
    deals = pd.DataFrame({
        "id": [1, 2, 3], "name": ["open, opted out", "open", "won"], "pipeline_id": 1,
        "stage_id": [1, 1, 3], "contact_id": [n + 1, n + 2, n + 2], "amount": 1000.0,
        "created_at": pd.Timestamp("2024-09-01", tz="UTC"), "is_won": [None, None, True],
        "closed_at": [None, None, pd.Timestamp("2024-09-20", tz="UTC")]})
    deals.to_sql("sales_pipeline", engine, schema="app", if_exists="append", index=False)


@pytest.fixture(scope="module")
def nba_db(make_database, tmp_path_factory, build_feature_views):
    from salesops.db import get_engine

    url = make_database("salesops_nba")
    engine = get_engine(url)
    load_app(engine, synthetic())
    build_feature_views(url)
    return url, engine, tmp_path_factory.mktemp("nba_artifacts")


def test_rules_forbid_nonsense():
    records = pd.DataFrame({
        "kind": ["lead", "lead", "lead", "deal", "deal", "lead"],
        "closed_at": [None, None, None, None, pd.Timestamp("2024-01-01"), None],
        "has_contact": [True, True, False, True, True, True],
        "opted_out": [False, True, False, False, False, False],
        "no_marketing": [False, False, False, False, False, True]})
    got = nba.allowed(records)
    assert got.loc[0].all() == False and got.loc[0, ["call", "email", "nurture"]].all()  # noqa: E712
    assert not got.loc[1, ["call", "email", "nurture"]].any() and got.loc[1, "meeting"]
    assert not got.loc[2, ["call", "email", "meeting", "nurture"]].any() and got.loc[2, "wait"]
    assert got.loc[3, "offer"] and not got.loc[3, "nurture"]
    assert not got.loc[4].any()  # a closed deal gets nothing, not even wait
    assert not got.loc[5, "nurture"] and got.loc[5, "email"]


def test_decision_points_label_the_following_weeks(nba_db):
    _, engine, _ = nba_db
    records, actions, progress = history.load(engine)
    points = history.decision_points(records, actions, progress, NOW)
    assert set(points["action"]) == {"call", "email", "meeting", "nurture", "wait"}
    assert (points["t"] <= NOW - pd.Timedelta(days=history.PROGRESS_DAYS)).all()
    rates = points.groupby("action")["progressed"].mean()
    assert rates["meeting"] > rates["call"] > rates["wait"]  # what the data was made with


def test_the_marts_keep_what_came_after_a_decision_out(nba_db):
    """The point-in-time guard of marts.action_record_features / action_event_features,
    read through history.load: facts recorded after a moment T (a call made, a lead
    converted, a lead created, an email logged on a deal, a deal moving on) leave every
    decision labelled by T (its features, the action taken, whether it progressed) as it was."""
    _, engine, _ = nba_db
    until = NOW - pd.Timedelta(weeks=4)
    after = (until + pd.Timedelta(days=2)).isoformat()

    def points() -> pd.DataFrame:
        frame = history.decision_points(*history.load(engine), until)
        return frame.sort_values(["record", "t"]).reset_index(drop=True)

    def run(sql: str, **params) -> None:
        with engine.begin() as conn:
            conn.execute(sa.text(sql), params)

    before = points()
    records = history.load(engine)[0]
    open_lead = int(records.loc[(records["kind"] == "lead") & (records["created_at"] < until)
                                & records["closed_at"].isna(), "lead_id"].iloc[0])
    saved = pd.read_sql_query(sa.text(f"select * from app.leads where id = {open_lead}"),
                              engine)
    try:
        run("insert into app.tasks (title, task_type, status, completed_at, lead_id) "
            "values ('call after', 'call', 'completed', :at, :lead)", at=after, lead=open_lead)
        run("update app.leads set status = 'converted', qualified_at = :at, converted_at = :at,"
            " updated_at = :at where id = :lead", at=after, lead=open_lead)
        run("insert into app.leads (id, status, created_at) values (9001, 'new', :at)",
            at=after)
        run("insert into app.interactions (kind, direction, deal_id, occurred_at) "
            "values ('email', 'outbound', 2, :at)", at=after)
        run("insert into app.deal_stage_history (deal_id, stage_id, stage_label, entered_at) "
            "values (2, 3, 'Won', :at)", at=after)
        assert "lead:9001" in set(history.load(engine)[0]["record"])  # the views follow
        pd.testing.assert_frame_equal(points(), before)
    finally:
        run("delete from app.tasks where title = 'call after'")
        run("delete from app.interactions where deal_id = 2 and occurred_at = :at", at=after)
        run("delete from app.deal_stage_history where deal_id = 2 and entered_at = :at",
            at=after)
        run("delete from app.leads where id = 9001")
        lead = saved.iloc[0]
        run("update app.leads set status = :s, qualified_at = :q, converted_at = :c, "
            "updated_at = :u where id = :lead", s=lead["status"],
            q=None if pd.isna(lead["qualified_at"]) else lead["qualified_at"],
            c=None if pd.isna(lead["converted_at"]) else lead["converted_at"],
            u=lead["updated_at"], lead=open_lead)
    pd.testing.assert_frame_equal(points(), before)


def test_missing_marts_say_what_to_run(nba_db, view_set_aside):
    from salesops.errors import SalesopsError

    _, engine, _ = nba_db
    with view_set_aside(engine, "marts.action_event_features"), pytest.raises(
            SalesopsError, match=r"marts.action_event_features has not been built yet: run "
                                 r"the pipeline first"):
        history.load(engine)


def test_replay_beats_the_most_frequent_action(nba_db):
    _, engine, _ = nba_db
    records, actions, progress = history.load(engine)
    ev = replay(history.decision_points(records, actions, progress, NOW), records)
    assert ev.baseline["most_frequent_action_is_wait"] == 1.0
    assert ev.metrics["matched_decisions"] >= 10
    assert (ev.metrics["progress_rate_when_recommended_action_taken"]
            > ev.baseline["progress_rate_most_frequent_action"] + 0.1)
    with pytest.raises(NotEnoughData, match="weekly decisions"):
        replay(history.decision_points(records, actions, progress, NOW).head(20), records)


def test_train_and_score_write_ranked_allowed_actions(nba_db):
    url, engine, artifacts = nba_db
    from ml import tracking

    tracking.configure(url, artifacts)
    with pytest.raises(NoChampion, match="train one first"):
        score(url, now=NOW)
    result = train(url, artifacts, until=NOW)
    assert result.alias == registry.CHAMPION
    assert str(registry.champion(MODEL_NAME).version) == result.version
    written = score(url, now=NOW)
    with engine.connect() as conn:
        rows = pd.read_sql_query(sa.text("select * from ml.next_best_actions"), conn)
        open_leads = set(conn.execute(sa.text(
            "select id from app.leads where status not in ('converted', 'disqualified')"
        )).scalars())
        opted_out_leads = set(conn.execute(sa.text(
            "select l.id from app.leads l join app.contacts c on c.id = l.contact_id "
            "where c.email_opt_out")).scalars())
    assert written == len(rows) and (rows["mlflow_run_id"] == result.run_id).all()
    assert set(rows["lead_id"].dropna().astype(int)) == open_leads
    assert set(rows["deal_id"].dropna().astype(int)) == {1, 2}  # never the won deal 3
    assert not rows[rows["deal_id"] == 1]["action"].isin(["call", "email"]).any()
    bad = rows[rows["lead_id"].isin(opted_out_leads) & rows["action"].isin(["call", "email"])]
    assert bad.empty
    firsts = rows[rows["rank"] == 1]
    assert firsts["lead_id"].dropna().is_unique and len(firsts) == len(open_leads) + 2
    assert rows["confidence"].between(0, 1).all() and rows["rationale"].str.len().gt(20).all()
    emails = rows[rows["action"] == "email"]
    assert (emails["template_id"] == 2).all() and "case-study" in emails["rationale"].iloc[0]
    # ranks are by confidence within each record
    for _, part in rows.groupby(["lead_id", "deal_id"], dropna=False):
        assert list(part.sort_values("rank")["confidence"]) == sorted(part["confidence"],
                                                                      reverse=True)


def test_scoring_records_drift_against_the_training_reference(nba_db, monkeypatch):
    from ml import monitoring

    url, engine, artifacts = nba_db
    tracking.configure(url, artifacts)
    monkeypatch.setattr(monitoring, "MIN_ROWS", 10)  # the synthetic history is small
    score(url, now=NOW)
    with engine.connect() as conn:
        latest = monitoring.latest_check(conn, MODEL_NAME)
    assert set(latest.loc[latest["kind"] == "feature", "feature"]) == set(history.MONITORED)
    assert list(latest.loc[latest["kind"] == "score", "feature"]) == [monitoring.SCORE]
    assert (latest["model_version"] == str(registry.champion(MODEL_NAME).version)).all()
    assert (latest["psi"] >= 0).all()


def test_a_down_tracking_store_keeps_the_last_champion_serving(nba_db, monkeypatch, tmp_path):
    """ml.serving, which every model's scoring goes through: with the store unreachable the
    champion served last answers from its local copy; never served before, a clear error."""
    from ml import serving
    from ml.errors import TrackingUnavailable
    from salesops.settings import Settings

    url, engine, artifacts = nba_db
    tracking.configure(url, artifacts)
    champion = registry.champion(MODEL_NAME)
    before = score(url, now=NOW)  # served by the registry: recorded as the last served
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    monkeypatch.setattr(tracking, "get_settings",
                        lambda: Settings(mlflow_tracking_uri="http://127.0.0.1:9"))
    try:
        served = serving.champion(MODEL_NAME, url, "train it")
        assert served.fallback and served.version == str(champion.version)
        assert served.run_id == champion.run_id
        with engine.begin() as conn:
            conn.execute(sa.text("delete from ml.next_best_actions"))
        assert score(url, now=NOW) == before
        with engine.connect() as conn:
            named = conn.execute(sa.text("select distinct model_version, mlflow_run_id "
                                         "from ml.next_best_actions")).all()
        assert named == [(str(champion.version), champion.run_id)]
        record = serving.served_file(MODEL_NAME)
        record.rename(tmp_path / "served.json")
        try:
            with pytest.raises(TrackingUnavailable, match="cannot be reached"):
                score(url, now=NOW)
        finally:
            (tmp_path / "served.json").rename(record)
    finally:
        monkeypatch.undo()
        tracking.configure(url, artifacts)


def test_a_later_model_is_judged_with_the_champion_on_decisions_it_never_saw(nba_db):
    """Last in this file (it replaces the registered model): a champion learned from the
    decisions up to eight weeks ago; the next model is judged with it on the held-out
    decisions newer than that (the progress rate when each one's first choice was taken)."""
    url, _, artifacts = nba_db
    tracking.configure(url, artifacts)
    tracking.client().delete_registered_model(MODEL_NAME)
    earlier = train(url, artifacts, until=NOW - pd.Timedelta(weeks=8))
    assert earlier.alias == registry.CHAMPION
    later = train(url, artifacts, until=NOW)
    tags = tracking.client().get_run(later.run_id).data.tags
    assert tags["promotion.compared_on"] == registry.SAME_HOLDOUT
    assert tags["promotion.champion_version"] == earlier.version
    assert 0 <= float(tags["promotion.champion_value"]) <= 1
    assert later.promoted == (float(tags["promotion.value"])
                              > float(tags["promotion.champion_value"]))
