"""Email sentiment: the lexicon features, labelled-data loading, the holdout evaluation, and
training, scoring and drop alerts end to end on a real PostgreSQL and MLflow store."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from ml import registry, tracking
from ml.errors import NoChampion, NotEnoughData
from ml.sentiment import MODEL_NAME, data, features, score, train, trends
from ml.sentiment.evaluate import fit_and_evaluate
from ml.sentiment.features import SentenceEmbeddings, normalise, vader_labels, vader_scores
from salesops.errors import SalesopsError

# Sales-mail phrases whose sentiment a general lexicon misreads or cannot see.
PHRASES = {
    "negative": ["we are cancelling the contract", "please process a refund",
                 "the invoice is still wrong", "escalating this to your manager",
                 "nobody answered our ticket", "we will move to another vendor",
                 "the rollout is blocked again", "this is the third outage"],
    "neutral": ["please find the agenda attached", "can we move the call to thursday",
                "forwarding the purchase order", "what is the shipping address",
                "adding my colleague to the thread", "the meeting is at 10am",
                "here are the updated figures", "see the notes from today"],
    "positive": ["we signed the renewal", "the team loves the new dashboard",
                 "thanks for the quick fix", "happy to expand to five more seats",
                 "great call today", "the pilot was a big success",
                 "approved by finance, let's go", "really appreciate your help"],
}
FILLER = ["hi", "hello team", "quick note", "fyi", "best regards", "cheers", "thanks", ""]


def synthetic_mail(n: int = 600, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.choice(list(PHRASES), n, p=[0.45, 0.3, 0.25])
    text = [f"{rng.choice(FILLER)} {rng.choice(PHRASES[lbl])}. {rng.choice(FILLER)}".strip()
            for lbl in label]
    sent = pd.Timestamp("2025-03-01") + pd.to_timedelta(np.sort(rng.uniform(0, 60, n)), "D")
    return pd.DataFrame({"body": text, "mood": label, "sent": sent.strftime("%Y-%m-%d %H:%M")})


MAPPING = data.Mapping(text="body", label="mood", time="sent")


@pytest.fixture(scope="module")
def labelled_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("sentiment") / "mail.csv"
    synthetic_mail().to_csv(path, index=False)
    return path


# --- features and data -------------------------------------------------------------------


def test_normalise_hides_values_but_keeps_words():
    got = normalise("@United Flight 1234 to www.x.com ann@x.io was GREAT")
    assert got == " _handle_  flight 0 to  _url_   _email_  was great"


def test_vader_labels_follow_its_compound_thresholds():
    scores = vader_scores(["I love it, wonderful!", "The meeting is at 10.", "Awful, I hate it"])
    assert list(vader_labels(scores[:, 3])) == ["positive", "neutral", "negative"]
    assert vader_labels(np.array([0.05, 0.0499, -0.05])).tolist() == \
        ["positive", "neutral", "negative"]


def test_sentence_embeddings_come_from_the_package_with_no_network(monkeypatch):
    """WordLlama's model loads from the files inside its wheel: with every connection
    refused it still embeds, and close meanings land closer than opposite ones."""
    def refuse(*args, **kwargs):
        raise OSError("no network in this test")
    monkeypatch.setattr("socket.socket.connect", refuse)
    features._embedder.cache_clear()
    vectors = SentenceEmbeddings().fit_transform(
        ["great service, thank you", "excellent service, thanks a lot",
         "awful delay, never again"])
    assert vectors.shape == (3, 256) and np.isfinite(vectors).all()
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    assert unit[0] @ unit[1] > unit[0] @ unit[2]


def test_load_reports_what_it_cannot_use(tmp_path):
    frame = synthetic_mail(40)
    frame.loc[3, "body"] = "   "
    path = tmp_path / "m.csv"
    frame.to_csv(path, index=False)
    loaded = data.load(path, MAPPING)
    assert loaded.dropped_empty == 1 and len(loaded.text) == 39
    with pytest.raises(SalesopsError, match="no column 'text'.*--text-column"):
        data.load(path)
    frame.loc[5, "mood"] = "angry"
    frame.to_csv(path, index=False)
    with pytest.raises(SalesopsError, match=r"labels \['angry'\]"):
        data.load(path, MAPPING)
    frame.loc[5, "mood"] = "negative"
    frame.loc[7, "sent"] = "soon"
    frame.to_csv(path, index=False)
    with pytest.raises(SalesopsError, match="1 rows have no readable time.*--no-time-column"):
        data.load(path, MAPPING)
    assert len(data.load(path, data.Mapping("body", "mood", None)).text) == 39


def test_too_few_labels_is_a_clear_error(tmp_path):
    path = tmp_path / "few.csv"
    synthetic_mail(12).to_csv(path, index=False)
    with pytest.raises(NotEnoughData, match="at least 5 training texts"):
        fit_and_evaluate(data.load(path, MAPPING))


# --- evaluation --------------------------------------------------------------------------


def test_model_beats_the_lexicon_on_sales_mail(labelled_csv):
    ev = fit_and_evaluate(data.load(labelled_csv, MAPPING))
    record = ev.record
    assert set(record) == {"eval", "data", "metrics", "baseline"}
    assert set(record["baseline"]) == {"vader_accuracy", "vader_macro_f1",
                                       "tfidf_lr_accuracy", "tfidf_lr_macro_f1"}
    assert "time-based holdout: the newest 120" in record["data"]
    assert ev.metrics["macro_f1"] > ev.baseline_metrics["vader_macro_f1"] + 0.2
    assert ev.metrics["macro_f1"] > 0.9


def test_evaluate_command_prints_the_record_last(labelled_csv, tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "ml.sentiment.evaluate", "--data", str(labelled_csv),
         "--text-column", "body", "--label-column", "mood", "--time-column", "sent"],
        capture_output=True, text=True, check=True)
    record = json.loads(run.stdout.strip().splitlines()[-1])
    assert record["eval"] == MODEL_NAME and record["metrics"]["macro_f1"] > 0.9
    bad = subprocess.run([sys.executable, "-m", "ml.sentiment.evaluate",
                          "--data", str(tmp_path / "missing.csv")],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "No labelled data at" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_beats_tfidf_on_airline_tweets(shared_data):
    """The issue's target, on every fourth tweet (for speed; docs/benchmarks.md has the full
    run): macro F1 above TF-IDF + logistic regression on the same time-based holdout."""
    path = shared_data / "sentiment" / "airline_tweets"
    if not path.is_dir():
        pytest.skip(f"{path} not found (see ../shared/data/README.md)")
    full = data.load(path)
    sample = data.Labelled(text=full.text[::4].reset_index(drop=True),
                           label=full.label[::4].reset_index(drop=True),
                           time=full.time[::4].reset_index(drop=True), source=full.source,
                           dropped_empty=0)
    ev = fit_and_evaluate(sample)
    print(json.dumps(ev.record))
    assert ev.metrics["macro_f1"] > ev.baseline_metrics["tfidf_lr_macro_f1"]
    assert ev.metrics["accuracy"] > ev.baseline_metrics["vader_accuracy"]


# --- train, score, alert -----------------------------------------------------------------


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    return tmp_path_factory.mktemp("mlartifacts-sentiment")


@pytest.fixture(scope="module")
def no_model(database_url, artifacts):
    tracking.configure(database_url, artifacts)
    client = tracking.client()
    if client.search_registered_models(f"name = '{MODEL_NAME}'"):
        client.delete_registered_model(MODEL_NAME)


@pytest.fixture(scope="module")
def champion(no_model, database_url, artifacts, labelled_csv):
    return train(database_url, artifacts, labelled_csv, MAPPING)


def add_mail(engine, contact_id, account_id, texts, start="2025-05-01"):
    with engine.begin() as conn:
        for k, text in enumerate(texts):
            conn.execute(sa.text(
                "insert into app.interactions (kind, direction, contact_id, account_id, "
                "occurred_at, subject, body) values ('email', 'inbound', :c, :a, "
                "cast(:t as timestamptz) + make_interval(days => :k), null, :b)"),
                {"c": contact_id, "a": account_id, "t": start, "k": k, "b": text})


@pytest.fixture
def crm(clean_db):
    with clean_db.begin() as conn:
        account = conn.execute(sa.text(
            "insert into app.accounts (name) values ('Acme') returning id")).scalar()
        happy, turning = (conn.execute(sa.text(
            "insert into app.contacts (first_name, account_id) values (:n, :a) returning id"),
            {"n": n, "a": account}).scalar() for n in ("Hap", "Tur"))
    return clean_db, account, happy, turning


def test_score_without_champion_is_a_clear_error(no_model, database_url):
    with pytest.raises(NoChampion, match="train one first"):
        score(database_url)


def test_train_logs_registers_and_records(champion, engine):
    assert champion.promoted and champion.alias == registry.CHAMPION
    run = tracking.client().get_run(champion.run_id)
    for name in ("accuracy", "macro_f1", "vader_macro_f1", "tfidf_lr_macro_f1"):
        assert 0.0 <= run.data.metrics[name] <= 1.0
    with engine.connect() as conn:
        recorded = dict(conn.execute(sa.text(
            "select metric, value from ml.model_metrics where model_name = :m "
            "and mlflow_run_id = :r"), {"m": MODEL_NAME, "r": champion.run_id}).all())
    assert recorded["macro_f1"] == pytest.approx(champion.metrics["macro_f1"])


def test_scoring_writes_every_interaction_and_alerts_a_drop_once(champion, crm, database_url):
    engine, account, happy, turning = crm
    positive, negative = PHRASES["positive"], PHRASES["negative"]
    add_mail(engine, happy, account, positive[:6])
    add_mail(engine, turning, None, positive[:5] + negative[:3])
    with engine.begin() as conn:  # a call without notes has nothing to read
        conn.execute(sa.text("insert into app.interactions (kind, direction, contact_id, "
                             "occurred_at) values ('call', 'outbound', :c, now())"),
                     {"c": happy})

    first = score(database_url)
    assert first.rows == 14 and first.version == champion.version
    with engine.connect() as conn:
        rows = pd.read_sql(sa.text(
            "select s.*, i.body from ml.sentiment_analysis s "
            "join app.interactions i on i.id = s.interaction_id"), conn)
        trend = pd.read_sql("select * from ml.sentiment_trends", conn)
        alerts = pd.read_sql(sa.text("select * from app.events where topic = :t"), conn,
                             params={"t": trends.TOPIC})
    assert set(rows["mlflow_run_id"]) == {champion.run_id}
    assert rows["score"].between(-1, 1).all()
    assert (rows.loc[rows["body"].isin(negative), "label"] == "negative").all()
    assert (rows.loc[rows["body"].isin(positive), "label"] == "positive").all()

    by = trend.set_index(["entity_type", "entity_id"])
    assert by.loc[("contact", turning), "change"] < -trends.DROP_THRESHOLD
    assert by.loc[("contact", happy), "change"] == pytest.approx(0, abs=0.3)
    assert by.loc[("account", account), "interactions"] == 6
    assert list(zip(alerts["aggregate_type"], alerts["aggregate_id"], strict=True)) == \
        [("contact", str(turning))]
    assert alerts["payload"][0]["last_interaction_id"] == int(
        by.loc[("contact", turning), "last_interaction_id"])

    again = score(database_url)  # nothing new: no rows, no second alert
    assert (again.rows, again.alerts) == (0, 0)
    add_mail(engine, turning, None, negative[3:4], start="2025-06-01")
    third = score(database_url)  # a newer interaction that keeps the drop alerts again
    assert (third.rows, third.alerts) == (1, 1)


def test_models_command_reports_a_user_mistake_in_one_line(tmp_path):
    run = subprocess.run([sys.executable, "-m", "salesops", "ml", "evaluate", "email_sentiment",
                          "--data", str(tmp_path / "none.csv")], capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr.strip() == f"error: No labelled data at {tmp_path / 'none.csv'}: give " \
        "--data the CSV file (or its folder)."


def test_retraining_judges_the_champion_on_the_same_holdout(champion, database_url, artifacts,
                                                            labelled_csv):
    again = train(database_url, artifacts, labelled_csv, MAPPING)
    tags = tracking.client().get_run(again.run_id).data.tags
    assert tags["promotion.compared_on"] == registry.SAME_HOLDOUT
    # the same texts held out, the champion scored on them: a tie, which never promotes
    assert float(tags["promotion.champion_value"]) == pytest.approx(champion.metrics["macro_f1"])
    assert not again.promoted and again.alias == registry.CHALLENGER
    assert str(registry.champion(MODEL_NAME).version) == champion.version
