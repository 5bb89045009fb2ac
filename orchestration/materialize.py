"""Materialise every asset once, layer by layer, printing progress for `salesops up`.

`python -m orchestration.materialize` runs in the Dagster instance of DAGSTER_HOME, so each
layer's run shows in the Dagster UI. Lines starting with `PROGRESS done total name` are
read by the command line's progress bar.
"""


import sys

import dagster as dg

from orchestration.definitions import defs
from orchestration.defs import ingest, merge, ml

SCORES = dg.AssetSelection.assets(ml.SCORES_KEY)
MODEL = dg.AssetSelection.assets(ml.MODEL_KEY)
DBT = dg.AssetSelection.groups(*[g for g in ("dbt_staging", "dbt_intermediate", "dbt_marts")])

#: The layers in the order data flows; the marts that read scores run after the models.
LAYERS: list[tuple[str, dg.AssetSelection]] = [
    ("ingest", dg.AssetSelection.groups(ingest.GROUP)),
    ("merge", dg.AssetSelection.groups(merge.GROUP)),
    ("dbt", DBT - SCORES.downstream(include_self=False)),
    ("model training", MODEL),
    ("lead scoring", SCORES),
    ("marts with scores", DBT & SCORES.downstream(include_self=False)),
]


def main() -> int:
    instance = dg.DagsterInstance.get()
    job = defs.resolve_implicit_global_asset_job_def()
    print(f"PROGRESS 0 {len(LAYERS)} {LAYERS[0][0]}", flush=True)
    for done, (name, selection) in enumerate(LAYERS, start=1):
        keys = selection.resolve(defs.resolve_asset_graph())
        if keys:
            result = job.execute_in_process(instance=instance, asset_selection=list(keys),
                                            tags={"salesops/trigger": "up"},
                                            raise_on_error=False)
            if not result.success:
                print(f"The {name} step failed; see the run in the Dagster UI.", flush=True)
                return 1
        upcoming = LAYERS[done][0] if done < len(LAYERS) else "done"
        print(f"PROGRESS {done} {len(LAYERS)} {upcoming}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
