"""`salesops ml train|evaluate|score <model>`: a command group the core command line finds
through the `salesops.commands` entry point, so salesops never imports ml."""

from __future__ import annotations

import json
from enum import StrEnum

import typer

app = typer.Typer(help="Models: train, evaluate and score.", no_args_is_help=True)


class Model(StrEnum):
    lead_scoring = "lead_scoring"


def _database_url() -> str:
    from salesops import migrate
    from salesops.errors import SalesopsError
    from salesops.runtime import resolve_database
    from salesops.settings import get_settings

    url = resolve_database(get_settings())[0]
    if migrate.current(url) != migrate.head():
        raise SalesopsError("The database is not at the latest migration: run "
                            "`salesops db migrate` first.")
    return url


@app.command()
def train(model: Model) -> None:
    """Fit, evaluate on the time-based holdout, log to MLflow, promote if it beats the champion."""
    from ml import lead_scoring
    from salesops.settings import get_settings

    result = lead_scoring.train(_database_url(), get_settings().artifacts_path)
    typer.echo(f"{model.value} version {result.version} ({result.alias}), run {result.run_id}")
    typer.echo(json.dumps(result.evaluation or {"metrics": result.metrics,
                                                "baseline": result.baseline_metrics}))


@app.command()
def evaluate(model: Model) -> None:
    """Print the holdout evaluation as one JSON line; nothing is logged or registered."""
    from ml.lead_scoring.evaluate import evaluate as run

    typer.echo(json.dumps(run(_database_url())))


@app.command()
def score(model: Model) -> None:
    """Score every open lead with the champion."""
    from ml import lead_scoring

    typer.echo(f"{lead_scoring.score(_database_url())} leads scored")
