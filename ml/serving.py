"""The champion a scoring run serves, and the safe fallback when MLflow is down.

Every scoring run asks the registry for the `champion` and keeps a local copy of its model
files under the artifacts folder (`<model>/served/<version>`), naming it in
`<model>/served_champion.json`. When the tracking store cannot be reached, the champion this
installation last served keeps serving from that copy (issue 5: "the previous champion keeps
serving"), and the run says so; with no champion served before, or none registered yet,
scoring stops with an error that says what to do. Never a silently wrong score.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import mlflow
import mlflow.artifacts
import mlflow.sklearn

from ml import monitoring, registry, tracking
from ml.errors import NoChampion, TrackingUnavailable
from salesops.settings import get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Served:
    model: Any
    version: str
    run_id: str
    #: The local copy of the model's files (MLmodel, the model, and what training saved next
    #: to them there).
    path: Path
    #: True when the tracking store was down and the last served champion answered.
    fallback: bool


def served_file(model_name: str) -> Path:
    return Path(get_settings().artifacts_path) / model_name / "served_champion.json"


@lru_cache(maxsize=8)
def _load(tracking_uri: str, model_name: str, version: str, run_id: str):
    """One registered version's model. A version never changes, so it is cached, keyed by
    store, version and run (a re-created registry reuses version numbers)."""
    return mlflow.sklearn.load_model(f"models:/{model_name}/{version}")


def champion(model_name: str, database_url: str, train_command: str) -> Served:
    """The registry's champion, or (tracking store down) the one last served here."""
    uri = tracking.configure(database_url, get_settings().artifacts_path)
    served = served_file(model_name)
    try:
        current = registry.champion(model_name)
    except Exception as exc:  # any failure to reach the store: unreachable, bad schema...
        if served.is_file():
            last = json.loads(served.read_text())
            log.warning("MLflow tracking store (%s) unreachable (%s): %s scores with the last "
                        "served champion, version %s", tracking.describe_store(database_url),
                        exc, model_name, last["version"])
            return Served(mlflow.sklearn.load_model(last["model_path"]), last["version"],
                          last["run_id"], Path(last["model_path"]), True)
        raise TrackingUnavailable(
            f"The MLflow tracking store ({tracking.describe_store(database_url)}) cannot be "
            f"reached ({type(exc).__name__}: {str(exc)[:200]}) and no {model_name} champion "
            "was served before: start the store or fix MLFLOW_TRACKING_URI, then score again. "
            "Nothing was scored; the previous results stay current.") from None
    if current is None:
        raise NoChampion(
            f"No '{registry.CHAMPION}' version of the {model_name} model in the MLflow "
            f"registry ({tracking.describe_store(database_url)}): train one first "
            f"(`{train_command}`).")
    version = str(current.version)
    model = _load(uri, model_name, version, current.run_id)
    local = served.parent / "served" / version
    if not (local / "MLmodel").is_file():  # a local copy, readable without the store
        local.mkdir(parents=True, exist_ok=True)
        mlflow.artifacts.download_artifacts(f"models:/{model_name}/{version}",
                                            dst_path=str(local))
    served.write_text(json.dumps({"version": version, "run_id": current.run_id,
                                  "model_path": str(local)}))
    return Served(model, version, current.run_id, local, False)


def drift_reference(served: Served) -> dict | None:
    """The drift reference the champion's training run saved (ml.monitoring), kept next to
    the local copy of the model for when the store is down; None for a run without one."""
    path = served.path / monitoring.REFERENCE_ARTIFACT
    if not path.is_file() and not served.fallback:
        try:
            mlflow.artifacts.download_artifacts(run_id=served.run_id,
                                                artifact_path=monitoring.REFERENCE_ARTIFACT,
                                                dst_path=str(served.path))
        except Exception as exc:  # an older run without one: score, but say drift is unchecked
            log.warning("run %s has no drift reference (%s): drift is not checked; retrain "
                        "the model to monitor it", served.run_id, exc)
            return None
    return json.loads(path.read_text()) if path.is_file() else None
