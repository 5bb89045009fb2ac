"""The lead scores' drift asset check: a warning naming what drifted in the latest scoring
run (ml.model_drift), a pass when nothing did or no run has been checked yet."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from orchestration.defs import ml
from orchestration.resources import Database

INSERT = sa.text(
    "insert into ml.model_drift (model_name, model_version, mlflow_run_id, checked_at, kind,"
    " feature, psi, threshold, drifted, rows_reference, rows_current, distribution) values"
    " ('lead_scoring', '4', 'run', :at, 'feature', :feature, :psi, 0.2, :psi >= 0.2, 500,"
    " 300, '{}')")


def check(database_url: str) -> dg.AssetCheckResult:
    return ml.lead_scores_drift(database=Database(url=database_url))


def test_drift_check_warns_on_the_latest_run_only(database_url, clean_db):
    first = check(database_url)
    assert first.passed and first.metadata["checked"].value is False

    with clean_db.begin() as conn:
        conn.execute(INSERT, {"at": "2026-06-01", "feature": "email_opens", "psi": 0.9})
        conn.execute(INSERT, {"at": "2026-06-02", "feature": "email_opens", "psi": 0.05})
        conn.execute(INSERT, {"at": "2026-06-02", "feature": "lead_source", "psi": 0.01})
    calm = check(database_url)
    assert calm.passed and calm.metadata["drifted"].value == "none"
    assert calm.metadata["max_psi"].value == 0.05

    with clean_db.begin() as conn:
        conn.execute(INSERT, {"at": "2026-06-03", "feature": "email_opens", "psi": 0.4})
        conn.execute(INSERT, {"at": "2026-06-03", "feature": "lead_source", "psi": 0.3})
        conn.execute(INSERT, {"at": "2026-06-03", "feature": "country", "psi": 0.1})
    drifted = check(database_url)
    assert not drifted.passed and drifted.severity == dg.AssetCheckSeverity.WARN
    assert drifted.metadata["drifted"].value == "email_opens, lead_source"
    assert "lead_scoring is flagged" in drifted.description
    assert drifted.metadata["psi_by_feature"].value == {
        "email_opens": 0.4, "lead_source": 0.3, "country": 0.1}


def test_the_check_watches_the_lead_scores():
    assert ml.lead_scores_drift.check_keys == {
        dg.AssetCheckKey(ml.SCORES_KEY, "lead_scores_drift")}


def test_the_forecasts_and_next_best_actions_are_watched_too():
    from orchestration.defs import forecasting

    assert forecasting.forecasts_drift.check_keys == {
        dg.AssetCheckKey(forecasting.FORECASTS_KEY, "forecasts_drift")}
    assert forecasting.next_best_actions_drift.check_keys == {
        dg.AssetCheckKey(forecasting.NBA_KEY, "next_best_actions_drift")}
