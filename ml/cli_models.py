"""Commands for the sentiment and attribution models, until `salesops ml` mounts them:
`python -m ml.cli_models sentiment train|evaluate|score` and `... attribution run`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ml.sentiment import data

app = typer.Typer(help="Email sentiment and data-driven attribution.", no_args_is_help=True)
sentiment = typer.Typer(help="Email sentiment: train, evaluate, score.", no_args_is_help=True)
attribution = typer.Typer(help="Data-driven attribution.", no_args_is_help=True)
app.add_typer(sentiment, name="sentiment")
app.add_typer(attribution, name="attribution")

DataOpt = Annotated[Path, typer.Option("--data", help="labelled CSV (or its folder)")]
TextOpt = Annotated[str, typer.Option(help="column with the text")]
LabelOpt = Annotated[str, typer.Option(help="column with negative / neutral / positive")]
TimeOpt = Annotated[str, typer.Option(help="column with when it was written ('' for none: "
                                           "a fixed stratified holdout)")]


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


def _mapping(text: str, label: str, time: str) -> data.Mapping:
    return data.Mapping(text=text, label=label, time=time or None)


@sentiment.command("train")
def sentiment_train(data_path: DataOpt, text_column: TextOpt = data.Mapping.text,
                    label_column: LabelOpt = data.Mapping.label,
                    time_column: TimeOpt = data.Mapping.time) -> None:
    """Fit, evaluate on the holdout, log to MLflow, promote if it beats the champion."""
    from ml.sentiment import train
    from salesops.settings import get_settings

    result = train(_database_url(), get_settings().artifacts_path, data_path,
                   _mapping(text_column, label_column, time_column))
    typer.echo(f"email_sentiment version {result.version} ({result.alias}), "
               f"run {result.run_id}")
    typer.echo(json.dumps(result.evaluation))


@sentiment.command("evaluate")
def sentiment_evaluate(data_path: DataOpt, text_column: TextOpt = data.Mapping.text,
                       label_column: LabelOpt = data.Mapping.label,
                       time_column: TimeOpt = data.Mapping.time) -> None:
    """Print the holdout evaluation as one JSON line; nothing is logged or registered."""
    from ml.sentiment.evaluate import fit_and_evaluate

    labelled = data.load(data_path, _mapping(text_column, label_column, time_column))
    typer.echo(json.dumps(fit_and_evaluate(labelled).record))


@sentiment.command("score")
def sentiment_score() -> None:
    """Score interactions not scored by the champion yet; alert on sentiment drops."""
    from ml.sentiment import score

    result = score(_database_url())
    typer.echo(f"{result.rows} interactions scored with version {result.version}; "
               f"{result.alerts} drop alerts")


@attribution.command("run")
def attribution_run() -> None:
    """Attribute conversions with every model and replace ml.attribution."""
    from ml.attribution import attribute
    from salesops.settings import get_settings

    result = attribute(_database_url(), get_settings().artifacts_path)
    typer.echo(f"{result.rows} rows from {result.journeys} journeys "
               f"({result.conversions:g} conversions), run {result.run_id}")


def main() -> None:
    from salesops.errors import SalesopsError

    try:
        app()
    except SalesopsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
