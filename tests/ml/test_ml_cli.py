"""`salesops ml`: one command group for every model, with one-line answers to misuse."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ml import cli
from ml.sentiment.data import Mapping


def test_sentiment_column_defaults_are_the_mappings():
    assert (Mapping.text, Mapping.label, Mapping.time) == (cli._TEXT, cli._LABEL, cli._TIME)


@pytest.mark.parametrize(("args", "message"), [
    (["train", "attribution"], "nothing to train"),
    (["train", "email_sentiment"], "labelled text"),
    (["evaluate", "email_sentiment", "--mapping", "m.yaml"], "--mapping is for lead_scoring"),
    (["evaluate", "win_probability", "--mapping", "m.yaml"], "goes with --data"),
    (["evaluate", "win_probability", "--data", "deals.csv"], "column mapping"),
    (["evaluate", "attribution"], "aggregated paths"),
    (["score", "attribution", "--change-threshold", "5"], "is for lead_scoring"),
    (["evaluate", "lead_scoring", "--data", "leads.csv"], "column mapping"),
])
def test_misuse_is_refused_before_any_work(args, message):
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
