"""The sentiment and attribution assets, materialised by Dagster against a real database and
MLflow store: config errors say what to do, and a trained model scores interactions."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from ml import tracking
from ml.sentiment import MODEL_NAME
from orchestration.defs import attribution, sentiment
from orchestration.resources import Database


@pytest.fixture
def resources(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SALESOPS_DATA_DIR", str(tmp_path))
    tracking.configure(database_url, tmp_path / "artifacts")
    client = tracking.client()
    if client.search_registered_models(f"name = '{MODEL_NAME}'"):
        client.delete_registered_model(MODEL_NAME)
    return {"database": Database(url=database_url)}


def test_sentiment_model_without_data_or_champion_says_what_to_do(resources):
    result = dg.materialize([sentiment.email_sentiment_model], resources=resources,
                            raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "set this asset's `data` config" in failure.message


def test_sentiment_assets_train_then_score(resources, clean_db, tmp_path):
    rows = [("thanks, the renewal is signed", "positive"), ("great support, thank you", "positive"),
            ("we are cancelling, this is broken", "negative"), ("refund us now", "negative"),
            ("the call is at 3pm", "neutral"), ("agenda attached", "neutral")] * 12
    csv = tmp_path / "labelled.csv"
    pd.DataFrame(rows, columns=["body", "mood"]).to_csv(csv, index=False)
    with clean_db.begin() as conn:
        conn.execute(sa.text(
            "insert into app.interactions (kind, direction, occurred_at, body) values "
            "('email', 'inbound', now(), 'thank you, great support'), "
            "('email', 'inbound', now(), 'this is broken, we want a refund')"))
    config = {"ops": {"ml__email_sentiment_model": {"config": {
        "data": str(csv), "text_column": "body", "label_column": "mood", "time_column": ""}}}}
    result = dg.materialize([sentiment.email_sentiment_model, sentiment.sentiment_analysis],
                            resources=resources, run_config=config)
    assert result.success
    scored = result.asset_materializations_for_node("ml__sentiment_analysis")[0]
    assert scored.metadata["rows"].value == 2
    with clean_db.connect() as conn:
        labels = conn.execute(sa.text(
            "select i.body, s.label from ml.sentiment_analysis s "
            "join app.interactions i on i.id = s.interaction_id order by i.id")).all()
    assert [label for _, label in labels] == ["positive", "negative"]


def test_attribution_asset_needs_the_marts(make_database, tmp_path, monkeypatch):
    unbuilt = make_database("salesops_no_marts")  # no dbt run: no marts
    monkeypatch.setenv("SALESOPS_DATA_DIR", str(tmp_path))
    result = dg.materialize([attribution.attribution],
                            resources={"database": Database(url=unbuilt)},
                            raise_on_error=False)
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    text = error.message + (error.cause.message if error.cause else "")
    assert "not built yet: run dbt first" in text
