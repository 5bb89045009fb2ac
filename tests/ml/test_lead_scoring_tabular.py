"""`salesops ml evaluate lead_scoring --data PATH --mapping FILE` on a lead table a user
brings: a generated CSV with its own column names, read through the mapped-file import."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ml.cli import app
from ml.errors import NotEnoughData
from ml.lead_scoring import leakage
from ml.lead_scoring.tabular import evaluate_file
from salesops.errors import SalesopsError

N = 600

MAPPING = """
source: other_crm
entity: leads
key: Lead ID
missing: ["", "n/a"]
columns:
  Lead ID: external_id
  Created: created_at
  Channel: lead_source
  E-mail: email
  Job Title: title
  Won: {field: converted, values: {"yes": true, "no": false}}
after_contact: [Rep Rating]
"""


def lead_table(n: int = N, seed: int = 3, with_created: bool = True) -> pd.DataFrame:
    """Leads whose conversion depends on channel, visits and title; plus columns that must
    not be features: an id, a rep rating filled in after contact, a column that records the
    outcome, and a date written after the lead came in."""
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 365, n)),
                                                           unit="D")
    channel = rng.choice(["Referral", "Web", "Cold Call", "Event"], n)
    visits = rng.poisson(3, n)
    title = rng.choice(["CEO", "VP Sales", "Engineer", "Intern"], n)
    logit = (-0.5 + np.select([channel == "Referral", channel == "Cold Call"], [1.5, -1.5], 0)
             + 0.4 * (visits - 3) + np.where(np.isin(title, ["CEO", "VP Sales"]), 0.8, -0.4))
    won = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame({
        "Lead ID": [f"L{i:05d}" for i in range(n)],
        "Row No": np.arange(1, n + 1),
        "Channel": channel, "Visits": visits, "Job Title": title,
        "E-mail": [f"p{i}@{'gmail.com' if i % 3 else 'acme.io'}" for i in range(n)],
        "Rep Rating": np.where(won, rng.choice(["hot", "warm"], n),
                               rng.choice(["cold", "warm"], n)),
        "Closing Note": np.where(won, "signed", "n/a"),
        "Last Touched": (created + pd.to_timedelta(rng.uniform(1, 60, n), unit="D")).strftime(
            "%Y-%m-%d"),
        "Won": np.where(won, "yes", "no"),
    })
    if with_created:
        frame.insert(1, "Created", created.strftime("%Y-%m-%d %H:%M:%S"))
    return frame


@pytest.fixture
def user_files(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "leads.csv"
    lead_table().to_csv(data, index=False)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    return data, mapping


def test_evaluate_a_users_table_through_the_cli(user_files):
    data, mapping = user_files
    result = CliRunner().invoke(app, ["evaluate", "lead_scoring", "--data", str(data),
                                      "--mapping", str(mapping)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["eval"] == "lead_scoring" and str(data) in record["data"]
    for metrics in (record["metrics"], record["baseline"]["logistic_regression"]):
        assert set(metrics) >= {"roc_auc", "pr_auc", "brier", "ece"}
        assert 0.0 <= metrics["brier"] <= 1.0 and 0.0 <= metrics["ece"] <= 1.0
    assert record["metrics"]["roc_auc"] > 0.7  # it learns the signal, not the leaks
    assert record["split"].startswith("time-based")
    assert record["rows"]["train"] + record["rows"]["holdout"] == N

    excluded = record["excluded_columns"]
    assert excluded["Rep Rating"] == "declared as filled in after contact"
    assert "alone predicts the outcome" in excluded["Closing Note"]
    assert "after the lead was created" in excluded["Last Touched"]
    assert "identifier" in excluded["Row No"] and "external_id" in excluded
    assert set(record["features"]) == {"lead_source", "Visits", "title_seniority",
                                       "is_free_email"}
    assert not set(record["features"]) & set(excluded)
    assert sum(record["scored"]["bands"].values()) == record["rows"]["holdout"]
    assert set(record["scored"]["top_reason"]) <= set(record["features"])


def test_after_contact_on_the_command_line_replaces_the_mappings_list(user_files):
    data, mapping = user_files
    result = CliRunner().invoke(app, ["evaluate", "lead_scoring", "--data", str(data),
                                      "--mapping", str(mapping), "--after-contact", "Visits"])
    assert result.exit_code == 0, result.output
    excluded = json.loads(result.stdout.strip().splitlines()[-1])["excluded_columns"]
    assert excluded["Visits"] == "declared as filled in after contact"
    assert excluded.get("Rep Rating") != "declared as filled in after contact"

    misspelt = CliRunner().invoke(app, ["evaluate", "lead_scoring", "--data", str(data),
                                        "--mapping", str(mapping), "--after-contact", "Vists"])
    assert misspelt.exit_code != 0 and "did you mean 'Visits'" in str(misspelt.exception)
    alone = CliRunner().invoke(app, ["evaluate", "lead_scoring", "--after-contact", "Visits"])
    assert alone.exit_code != 0 and "--after-contact goes with" in alone.output


def test_without_timestamps_the_split_is_stratified_and_says_so(tmp_path):
    data = tmp_path / "leads.csv"
    lead_table(with_created=False).to_csv(data, index=False)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING.replace("  Created: created_at\n", ""))
    record = evaluate_file(data, mapping)
    assert record["split"].startswith("no created_at: seeded stratified split")
    # without a creation time, no date can be shown to predate the lead: it is left out
    assert "no created_at" in record["excluded_columns"]["Last Touched"]
    assert evaluate_file(data, mapping)["metrics"] == record["metrics"]  # seeded


def test_the_leakage_threshold_is_configurable(user_files):
    data, mapping = user_files
    record = evaluate_file(data, mapping, leakage_auc=0.6)
    excluded = record["excluded_columns"]
    assert "alone predicts the outcome" in excluded["lead_source"]  # strong, below 0.9
    assert "lead_source" not in record["features"]


def test_a_misspelt_after_contact_column_is_an_error(user_files):
    data, mapping = user_files
    mapping.write_text(MAPPING.replace("[Rep Rating]", "[Rep Ratnig]"))
    with pytest.raises(SalesopsError, match="did you mean 'Rep Rating'"):
        evaluate_file(data, mapping)


def test_a_mapping_without_the_outcome_is_an_error(user_files):
    data, mapping = user_files
    mapping.write_text(MAPPING.replace('  Won: {field: converted, values: {"yes": true, '
                                       '"no": false}}\n', ""))
    with pytest.raises(SalesopsError, match="map the column that says whether a lead"):
        evaluate_file(data, mapping)


def test_one_outcome_only_is_not_enough(tmp_path):
    data = tmp_path / "leads.csv"
    lead_table().assign(Won="no").to_csv(data, index=False)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    with pytest.raises(NotEnoughData, match=r"\(0 converted"):
        evaluate_file(data, mapping)


def test_cli_errors_are_one_line_not_tracebacks(user_files, tmp_path):
    data, _ = user_files
    result = CliRunner().invoke(app, ["evaluate", "lead_scoring", "--data", str(data)])
    assert result.exit_code != 0 and "--mapping" in result.output
    wrong = tmp_path / "deals.yaml"
    wrong.write_text("source: x\nentity: deals\nkey: Lead ID\ncolumns: {Lead ID: external_id}\n")
    with pytest.raises(SalesopsError, match="entity: leads"):
        evaluate_file(data, wrong)


def test_single_column_auc_is_cross_fitted():
    rng = np.random.default_rng(0)
    y = pd.Series(rng.random(400) < 0.4).astype(int)
    unique_ids = pd.Series([f"id{i}" for i in range(400)])
    assert leakage.single_column_auc(unique_ids, y) < 0.65  # no signal out of fold
    assert leakage.single_column_auc(y.map({1: "won", 0: "lost"}), y) == pytest.approx(1.0)
    only_when_won = pd.Series(np.where(y == 1, "x", None))
    assert leakage.single_column_auc(only_when_won, y) == pytest.approx(1.0)  # missingness
    assert leakage.single_column_auc(pd.Series(rng.normal(size=400)), y) < 0.65


def test_x_education_through_the_users_path(shared_data):
    mapping = Path(__file__).resolve().parents[2] / "examples" / "x_education_leads.yaml"
    record = evaluate_file(shared_data / "leads" / "x_education", mapping)
    print(json.dumps(record))
    for column in ("Tags", "Lead Quality", "Lead Profile", "Last Activity"):
        assert column in record["excluded_columns"] and column not in record["features"]
    assert record["rows"]["train"] + record["rows"]["holdout"] == 9240
    assert record["metrics"]["roc_auc"] > record["baseline"]["logistic_regression"]["roc_auc"]
    assert record["metrics"]["ece"] <= 0.05
