"""Small jobs and the sensors that start them: one op per job, at most one run at a time."""

import dagster as dg

ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING,
          dg.DagsterRunStatus.STARTED]


def single_op_job(name: str, op: dg.OpDefinition, description: str,
                  tags: dict[str, str]) -> dg.JobDefinition:
    """A job of one op, run in process (the work is database-bound, not worth a subprocess)."""
    @dg.job(name=name, description=description, executor_def=dg.in_process_executor,
            tags=tags)
    def _graph():
        op()

    return _graph


def is_running(context: dg.SensorEvaluationContext, job: dg.JobDefinition) -> bool:
    return bool(context.instance.get_runs(
        dg.RunsFilter(job_name=job.name, statuses=ACTIVE), limit=1))


def request_if_waiting(context: dg.SensorEvaluationContext, job: dg.JobDefinition,
                       waiting, what: str, tags: dict[str, str]):
    """A run of `job` when there is work (`waiting`, truthy) and no run of it is going."""
    if not waiting:
        return dg.SkipReason(f"no {what} waiting")
    if is_running(context, job):
        return dg.SkipReason(f"{what} waiting ({waiting}); a run is in progress")
    return dg.RunRequest(tags=tags)
