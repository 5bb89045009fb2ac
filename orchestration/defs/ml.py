"""Models: training and batch scoring as assets, and a sensor that scores new leads as soon
as the API captures them (from the outbox), not at the next schedule."""


import dagster as dg

from orchestration.resources import Database
from salesops import events
from salesops.settings import Settings

GROUP = "ml"
LEAD_TOPICS = ("lead.created", "lead.updated")
#: Leads are features in `marts.lead_features`; scores feed back into `marts.fct_leads`.
FEATURES_KEY = dg.AssetKey(["marts", "lead_features"])
SCORES_KEY = dg.AssetKey(["ml", "lead_scores"])
MODEL_KEY = dg.AssetKey(["ml", "lead_scoring_model"])


def trained_model(context: dg.AssetExecutionContext, result, metric_prefix: str = "holdout",
                  **extra) -> dg.MaterializeResult:
    """Log and record a training run (an ml.registry.TrainResult) as the model asset's
    materialisation: version, run, alias, and the metrics next to the baseline's."""
    context.log.info(f"version {result.version}: {result.metrics}; alias {result.alias}")
    return dg.MaterializeResult(metadata={
        "version": result.version, "mlflow_run_id": result.run_id, "alias": result.alias,
        "promoted": result.promoted, **extra,
        **{f"{metric_prefix}_{k}": v for k, v in result.metrics.items()},
        **{f"baseline_{k}": v for k, v in result.baseline_metrics.items()}})


@dg.asset(key=MODEL_KEY, group_name=GROUP, deps=[FEATURES_KEY], kinds={"mlflow", "sklearn"},
          op_tags={"salesops/heavy": "train"},
          description="The lead-scoring model: trained on closed leads, registered in MLflow, "
                      "promoted to champion only when it beats the current one on the holdout.")
def lead_scoring_model(context: dg.AssetExecutionContext,
                       database: Database) -> dg.MaterializeResult:
    from ml import lead_scoring  # heavy (sklearn, shap, mlflow): loaded when a run needs it

    return trained_model(context, lead_scoring.train(database.url, Settings().artifacts_path))


@dg.asset(key=SCORES_KEY, group_name=GROUP, deps=[MODEL_KEY], kinds={"postgres"},
          description="Score 0-100, band and top reasons for every open lead (history kept).")
def lead_scores(database: Database) -> dg.MaterializeResult:
    from ml import lead_scoring

    run = lead_scoring.score(database.url)
    return dg.MaterializeResult(metadata={
        "rows": run.written, "model_version": run.model_version or "",
        "score_changes_notified": run.changes, "not_scored_no_features": len(run.unscorable),
        "served_by_fallback": run.fallback, "drift_checked": run.drift.checked,
        "drifted": ", ".join(run.drift.drifted) or "none"})


def drift_check_result(latest, model_name: str) -> dg.AssetCheckResult:
    """The asset check's verdict on a model's latest drift check (ml.monitoring.latest_check
    rows): a warning naming what drifted, or a pass; no check yet passes and says so."""
    if latest.empty:
        return dg.AssetCheckResult(passed=True, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"checked": False, "note": f"{model_name} has "
                                             "not measured drift yet (no full scoring run)"})
    drifted = latest[latest["drifted"]]
    return dg.AssetCheckResult(
        passed=drifted.empty, severity=dg.AssetCheckSeverity.WARN,
        description=(f"{model_name} is flagged: " + ", ".join(drifted["feature"])
                     + " drifted past PSI " + f"{latest['threshold'].iloc[0]:g}")
        if not drifted.empty else None,
        metadata={"checked": True, "checked_at": str(latest["checked_at"].iloc[0]),
                  "model_version": str(latest["model_version"].iloc[0]),
                  "max_psi": float(latest["psi"].max()),
                  "drifted": ", ".join(drifted["feature"]) or "none",
                  "psi_by_feature": dg.MetadataValue.json(
                      {str(f): round(float(p), 4)
                       for f, p in zip(latest["feature"], latest["psi"], strict=True)})})


@dg.asset_check(asset=SCORES_KEY, blocking=False,
                description="Warns when the latest scoring run's features or score drifted "
                            "from the model's training data (PSI past drift_psi_threshold; "
                            "ml.model_drift, marts.fct_model_drift).")
def lead_scores_drift(database: Database) -> dg.AssetCheckResult:
    from ml.lead_scoring.model import MODEL_NAME

    return latest_drift(database, MODEL_NAME)


def latest_drift(database: Database, model_name: str) -> dg.AssetCheckResult:
    """The drift check's verdict on `model_name`'s latest scoring run."""
    from ml import monitoring

    with database.engine.connect() as conn:
        latest = monitoring.latest_check(conn, model_name)
    return drift_check_result(latest, model_name)


@dg.op(description="Score the leads named by claimed outbox events; release them on failure.")
def score_leads_from_outbox(context: dg.OpExecutionContext, database: Database) -> int:
    from ml import lead_scoring

    error: Exception | None = None
    with events.claim(database.engine, LEAD_TOPICS, limit=1000) as batch:
        lead_ids = sorted({int(e.aggregate_id) for e in batch})
        try:
            written = lead_scoring.score(database.url, lead_ids).written if lead_ids else 0
        except Exception as exc:  # counted against each event, so a poison batch stops
            error = exc
        for event in batch:
            if error:
                batch.fail(event, error)
            else:
                batch.complete(event)
    if error:
        raise error
    context.log.info(f"scored {written} of {len(lead_ids)} leads from {len(batch)} events")
    return written


@dg.job(description="Score leads the API just captured.", tags={"salesops/trigger": "outbox"},
        executor_def=dg.in_process_executor)  # one small step: no subprocess to wait for
def score_new_leads():
    score_leads_from_outbox()


@dg.sensor(job=score_new_leads, minimum_interval_seconds=10,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Starts score_new_leads when lead events wait in the outbox.")
def new_lead_sensor(context: dg.SensorEvaluationContext, database: Database):
    waiting = events.pending(database.engine, LEAD_TOPICS)
    if not waiting:
        return dg.SkipReason("no lead events waiting")
    active = context.instance.get_runs(dg.RunsFilter(
        job_name=score_new_leads.name,
        statuses=[dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING,
                  dg.DagsterRunStatus.STARTED]), limit=1)
    if active:
        return dg.SkipReason(f"{waiting} lead events waiting; a scoring run is in progress")
    return dg.RunRequest(tags={"salesops/pending_events": str(waiting)})
