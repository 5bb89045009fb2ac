"""Materialise every asset once, layer by layer, printing progress for `salesops up`.

`python -m orchestration.materialize` runs in the Dagster instance of DAGSTER_HOME, so each
layer's run shows in the Dagster UI. Lines starting with `PROGRESS done total name` are
read by the command line's progress bar.
"""

import sys
from collections.abc import Callable

import dagster as dg

from orchestration.definitions import defs
from orchestration.defs import attribution, dbt, forecasting, ingest, merge, ml


def layers() -> list[tuple[str, dg.AssetSelection]]:
    """The layers in the order data flows; the marts that read scores run after the models.

    The bookings forecast is left to its schedule: it needs months of closed deals, which
    a small demo does not have (`salesops ml train win_probability` says how many)."""
    scores = dg.AssetSelection.assets(ml.SCORES_KEY)
    models = dg.AssetSelection.assets(ml.MODEL_KEY)
    dbt_models = dg.AssetSelection.groups(*dbt.GROUPS)
    return [
        ("ingest", dg.AssetSelection.groups(ingest.GROUP)),
        ("merge", dg.AssetSelection.groups(merge.GROUP)),
        ("dbt", dbt_models - scores.downstream(include_self=False)),
        ("model training", models),
        ("lead scoring", scores),
        ("marts with scores", dbt_models & scores.downstream(include_self=False)),
        ("attribution and next best actions", dg.AssetSelection.assets(
            attribution.KEY, forecasting.NBA_MODEL_KEY, forecasting.NBA_KEY)),
    ]


def run_layers(instance: dg.DagsterInstance,
               progress: Callable[[int, int, str], None] = lambda done, total, name: None,
               ) -> str | None:
    """Materialise every layer in order; return the name of the layer that failed, if any."""
    steps = layers()
    job = defs.resolve_implicit_global_asset_job_def()
    graph = defs.resolve_asset_graph()
    progress(0, len(steps), steps[0][0])
    for done, (name, selection) in enumerate(steps, start=1):
        keys = selection.resolve(graph)
        if keys:
            result = job.execute_in_process(instance=instance, asset_selection=list(keys),
                                            tags={"salesops/trigger": "up"},
                                            raise_on_error=False)
            if not result.success:
                return name
        progress(done, len(steps), steps[done][0] if done < len(steps) else "done")
    return None


def main() -> int:
    def report(done: int, total: int, name: str) -> None:
        print(f"PROGRESS {done} {total} {name}", flush=True)

    failed = run_layers(dg.DagsterInstance.get(), report)
    if failed:
        print(f"The {failed} step failed; see its run in the Dagster UI.", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
