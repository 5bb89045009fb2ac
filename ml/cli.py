"""`salesops ml train|evaluate|score <model>`: a command group the core command line finds
through the `salesops.commands` entry point, so salesops never imports ml.

Every model answers the same three verbs where they apply: attribution is recomputed by
`score` (it has nothing to train), and email sentiment learns from labelled text (`--data`).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Models: train, evaluate and score.", no_args_is_help=True)


class Model(StrEnum):
    lead_scoring = "lead_scoring"
    win_probability = "win_probability"
    next_best_action = "next_best_action"
    email_sentiment = "email_sentiment"
    attribution = "attribution"


DataOpt = Annotated[Path | None, typer.Option(
    help="lead_scoring: a lead table (CSV or XLSX, or a folder holding one) with --mapping, "
         "instead of marts.lead_features; win_probability (evaluate): a CRM export's deals "
         "CSV (or its folder) with --mapping, instead of marts.deal_features; attribution "
         "(evaluate): aggregated paths in ChannelAttribution's form; email_sentiment: the "
         "labelled CSV (or its folder).")]
TextOpt = Annotated[str, typer.Option(help="email_sentiment: the column with the text")]
LabelOpt = Annotated[str, typer.Option(
    help="email_sentiment: the column with negative / neutral / positive")]
TimeOpt = Annotated[str, typer.Option(
    help="email_sentiment: the column with when it was written ('' for none: a fixed "
         "stratified holdout)")]


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


def _artifacts() -> Path:
    from salesops.settings import get_settings

    return get_settings().artifacts_path


def _labelled(model: Model, data: Path | None, text: str, label: str, time: str):
    """The labelled text of email_sentiment, read with its column mapping."""
    from ml.sentiment import data as sentiment_data

    if data is None:
        raise typer.BadParameter(f"{model.value} learns from labelled text: give --data "
                                 "CSV (see docs/decisions.md, email sentiment)",
                                 param_hint="--data")
    return data, sentiment_data.Mapping(text=text, label=label, time=time or None)


def _no_data_option(model: Model, data: Path | None) -> None:
    if data is not None:
        raise typer.BadParameter(f"{model.value} reads the database; --data is for "
                                 "lead_scoring, email_sentiment and the evaluation of "
                                 "win_probability and attribution", param_hint="--data")


#: ml.sentiment.data.Mapping's defaults (a test holds them equal), spelt out here so that
#: every `salesops` call, which loads this group, does not import pandas.
_TEXT, _LABEL, _TIME = "text", "airline_sentiment", "tweet_created"


@app.command()
def train(model: Model, data: DataOpt = None, text_column: TextOpt = _TEXT,
          label_column: LabelOpt = _LABEL, time_column: TimeOpt = _TIME) -> None:
    """Fit, evaluate on the holdout, log to MLflow, promote if it beats the champion."""
    if model is Model.attribution:
        raise typer.BadParameter("attribution has nothing to train: `salesops ml score "
                                 "attribution` recomputes it", param_hint="MODEL")
    if model is Model.email_sentiment:
        from ml.sentiment import train as fit

        path, mapping = _labelled(model, data, text_column, label_column, time_column)
        result = fit(_database_url(), _artifacts(), path, mapping)
        typer.echo(f"{model.value} version {result.version} ({result.alias}), "
                   f"run {result.run_id}")
        typer.echo(json.dumps(result.evaluation))
        return
    _no_data_option(model, data)
    if model is Model.lead_scoring:
        from ml import lead_scoring

        result = lead_scoring.train(_database_url(), _artifacts())
        typer.echo(f"{model.value} version {result.version} ({result.alias}), "
                   f"run {result.run_id}")
        typer.echo(json.dumps(result.evaluation or {"metrics": result.metrics,
                                                    "baseline": result.baseline_metrics}))
        return
    if model is Model.win_probability:
        from ml.forecasting.train import train as fit
    else:
        from ml.next_best_action.train import train as fit
    result = fit(_database_url(), _artifacts())
    typer.echo(f"{model.value} version {result.version} ({result.alias}), run {result.run_id}")
    typer.echo(json.dumps({"metrics": result.metrics, "baseline": result.baseline_metrics}))


@app.command()
def evaluate(
    model: Model,
    data: DataOpt = None,
    mapping: Annotated[Path | None, typer.Option(
        help="lead_scoring, win_probability: the YAML column mapping of --data "
             "(docs/mapping.md; entity: leads, deals).")] = None,
    leakage_auc: Annotated[float | None, typer.Option(
        min=0.5, max=1.0, help="lead_scoring: exclude a column that alone predicts the "
                               "outcome with at least this cross-fitted ROC AUC "
                               "[default: 0.9].")] = None,
    after_contact: Annotated[list[str] | None, typer.Option(
        help="lead_scoring with --mapping: a column filled in after contact, in place of "
             "the mapping's after_contact list (repeat the option for each; to see what a "
             "different judgement of the columns gives).")] = None,
    text_column: TextOpt = _TEXT, label_column: LabelOpt = _LABEL, time_column: TimeOpt = _TIME,
) -> None:
    """Fit on a holdout (a backtest for win_probability, a replay for next_best_action, the
    check against ChannelAttribution for attribution) and print the evaluation as one JSON
    line, the last; nothing is logged or registered."""
    if mapping is not None and model not in (Model.lead_scoring, Model.win_probability):
        raise typer.BadParameter("--mapping is for lead_scoring and win_probability",
                                 param_hint="--mapping")
    if model is Model.lead_scoring:
        record = _evaluate_leads(model, data, mapping, leakage_auc, after_contact)
    elif model is Model.email_sentiment:
        from ml.sentiment import data as sentiment_data
        from ml.sentiment.evaluate import fit_and_evaluate

        path, columns = _labelled(model, data, text_column, label_column, time_column)
        record = fit_and_evaluate(sentiment_data.load(path, columns)).record
    elif model is Model.win_probability:
        from ml.forecasting import evaluate as backtest

        record = backtest.evaluate(_deal_history(data, mapping),
                                   progress=lambda m: typer.echo(m, err=True))
    elif model is Model.next_best_action:
        _no_data_option(model, data)
        record = _replay_actions(_database_url())
    else:
        if data is None:
            raise typer.BadParameter("attribution is checked on aggregated paths: give --data "
                                     "PATH (ChannelAttribution's form, e.g. its Data.csv)",
                                     param_hint="--data")
        from ml.attribution import evaluate as check

        record = check.evaluate(*check.read_paths(data))
    typer.echo(json.dumps(record))


def _deal_history(data: Path | None, mapping: Path | None):
    """The deals to backtest: a CRM export read through its mapping, or marts.deal_features."""
    from ml.forecasting import history

    if data is None:
        if mapping is not None:
            raise typer.BadParameter("--mapping goes with --data PATH", param_hint="--mapping")
        from salesops.db import get_engine

        return history.from_marts(get_engine(_database_url()))
    if mapping is None:
        raise typer.BadParameter("give the export's column mapping, --mapping FILE.yaml "
                                 "(entity: deals; e.g. examples/maven_crm_deals.yaml)",
                                 param_hint="--mapping")
    return history.from_file(data, mapping)


def _evaluate_leads(model: Model, data: Path | None, mapping: Path | None,
                    leakage_auc: float | None, after_contact: list[str] | None) -> dict:
    if data is None:
        if mapping is not None:
            raise typer.BadParameter("--mapping goes with --data PATH", param_hint="--mapping")
        if after_contact is not None:
            raise typer.BadParameter("--after-contact goes with --data PATH --mapping FILE",
                                     param_hint="--after-contact")
        from ml.lead_scoring.evaluate import evaluate as run

        return run(_database_url(), leakage_auc)
    if mapping is None:
        raise typer.BadParameter("give the file's column mapping, --mapping FILE.yaml "
                                 "(see docs/mapping.md and examples/)", param_hint="--mapping")
    from ml.lead_scoring.tabular import evaluate_file

    typer.echo(f"evaluating {model.value} on {data} with {mapping} ...", err=True)
    return evaluate_file(data, mapping, leakage_auc, after_contact)


def _replay_actions(database_url: str) -> dict:
    """The offline replay of next best actions on the database's history."""
    import pandas as pd

    from ml.metrics import evaluation_record
    from ml.next_best_action import MODEL_NAME, history
    from ml.next_best_action.evaluate import replay
    from salesops.db import get_engine

    records, actions, progress = history.load(get_engine(database_url))
    points = history.decision_points(records, actions, progress, pd.Timestamp.now(tz=None))
    result = replay(points, records)
    return evaluation_record(MODEL_NAME, f"app: weekly decisions from {result.cutoff:%Y-%m-%d} "
                             "(replay)", result.metrics, result.baseline)


@app.command()
def score(
    model: Model,
    change_threshold: Annotated[int | None, typer.Option(
        min=1, max=100, help="lead_scoring: notify the owner when a lead's score moves by at "
                             "least this many points [default: 10].")] = None,
) -> None:
    """Score with the champion: open leads, open deals (and the bookings forecast),
    interactions not scored yet, or the attribution of every conversion."""
    if change_threshold is not None and model is not Model.lead_scoring:
        raise typer.BadParameter("--change-threshold is for lead_scoring",
                                 param_hint="--change-threshold")
    url = _database_url()
    if model is Model.lead_scoring:
        from ml import lead_scoring

        options = {} if change_threshold is None else {"change_threshold": change_threshold}
        run = lead_scoring.score(url, **options)
        served = " (tracking store down: the last served champion)" if run.fallback else ""
        typer.echo(f"{run.written} leads scored with version {run.model_version}{served}; "
                   f"{run.changes} score changes notified")
        if run.drift.flagged:
            typer.echo(f"drift: {', '.join(run.drift.drifted)} moved past the PSI threshold "
                       "since training (ml.model_drift): check the data or retrain", err=True)
        if run.unscorable:
            typer.echo(f"{len(run.unscorable)} leads not scored, no feature known: "
                       f"{run.unscorable[:20]}", err=True)
    elif model is Model.win_probability:
        from ml.forecasting.score import score as run

        typer.echo(f"{run(url)} forecast rows written to ml.forecasts")
    elif model is Model.next_best_action:
        from ml.next_best_action.score import score as run

        typer.echo(f"{run(url)} ranked actions written to ml.next_best_actions")
    elif model is Model.email_sentiment:
        from ml.sentiment import score as run

        result = run(url)
        served = " (tracking store down: the last served champion)" if result.fallback else ""
        typer.echo(f"{result.rows} interactions scored with version {result.version}{served}; "
                   f"{result.alerts} drop alerts")
    else:
        from ml.attribution import attribute

        result = attribute(url, _artifacts())
        typer.echo(f"{result.rows} rows from {result.journeys} journeys "
                   f"({result.conversions:g} conversions), run {result.run_id}")
