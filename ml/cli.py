"""`salesops ml train|evaluate|score <model>`: a command group the core command line finds
through the `salesops.commands` entry point, so salesops never imports ml."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

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
def evaluate(
    model: Model,
    data: Annotated[Path | None, typer.Option(
        help="A lead table (CSV or XLSX, or a folder holding one) to evaluate on, instead "
             "of the database's marts.lead_features.")] = None,
    mapping: Annotated[Path | None, typer.Option(
        help="The YAML column mapping of --data (docs/mapping.md; entity: leads).")] = None,
    leakage_auc: Annotated[float | None, typer.Option(
        min=0.5, max=1.0, help="Exclude a column that alone predicts the outcome with at "
                               "least this cross-fitted ROC AUC [default: 0.9].")] = None,
) -> None:
    """Fit on a holdout split and print the evaluation as one JSON line (the last line);
    nothing is logged or registered."""
    if data is None:
        if mapping is not None:
            raise typer.BadParameter("--mapping goes with --data PATH", param_hint="--mapping")
        from ml.lead_scoring.evaluate import evaluate as run

        typer.echo(json.dumps(run(_database_url(), leakage_auc)))
        return
    if mapping is None:
        raise typer.BadParameter("give the file's column mapping, --mapping FILE.yaml "
                                 "(see docs/mapping.md and examples/)", param_hint="--mapping")
    from ml.lead_scoring.tabular import evaluate_file

    typer.echo(f"evaluating {model.value} on {data} with {mapping} ...", err=True)
    typer.echo(json.dumps(evaluate_file(data, mapping, leakage_auc)))


@app.command()
def score(
    model: Model,
    change_threshold: Annotated[int | None, typer.Option(
        min=1, max=100, help="Notify the owner when a lead's score moves by at least this "
                             "many points [default: 10].")] = None,
) -> None:
    """Score every open lead with the champion."""
    from ml import lead_scoring

    options = {} if change_threshold is None else {"change_threshold": change_threshold}
    run = lead_scoring.score(_database_url(), **options)
    served = " (tracking store down: the last served champion)" if run.fallback else ""
    typer.echo(f"{run.written} leads scored with version {run.model_version}{served}; "
               f"{run.changes} score changes notified")
    if run.unscorable:
        typer.echo(f"{len(run.unscorable)} leads not scored, no feature known: "
                   f"{run.unscorable[:20]}", err=True)
