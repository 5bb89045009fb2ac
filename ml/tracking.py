"""MLflow tracking: the store lives in the project's PostgreSQL, schema `mlflow`.

The tracking URI is `postgresql+psycopg2://...?...&options=-csearch_path%3Dmlflow`: the
connection's search_path pins MLflow's tables, and its own `alembic_version`, to the
`mlflow` schema (MLflow creates them on first use, which takes a few seconds), so they never
mix with salesops' schemas. `MLFLOW_TRACKING_URI` (settings.mlflow_tracking_uri) overrides
it, e.g. to use an MLflow server. Artifacts go to a folder (a `file://` URI per experiment);
a server with an object store replaces both when scaling out.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
from mlflow import MlflowClient
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from salesops.db import describe, psycopg2_url
from salesops.settings import get_settings

#: The schema that holds MLflow's tracking and registry tables.
MLFLOW_SCHEMA = "mlflow"

#: Tracking URIs of an MLflow server, which keeps artifacts in its own store.
_SERVER_SCHEMES = ("http://", "https://", "databricks")

_artifacts_dir: Path | None = None


def tracking_uri(database_url: str) -> str:
    """The tracking URI for a salesops database (or the configured override)."""
    return get_settings().mlflow_tracking_uri or psycopg2_url(
        database_url, search_path=MLFLOW_SCHEMA)


def describe_store(database_url: str) -> str:
    """Where the tracking store is, fit to print (no password)."""
    override = get_settings().mlflow_tracking_uri
    if override:
        try:
            return make_url(override).render_as_string(hide_password=True)
        except ArgumentError:  # not a database URL (an MLflow server, a folder)
            return override
    return f"schema {MLFLOW_SCHEMA} of {describe(database_url)}"


def configure(database_url: str, artifacts_dir: Path) -> str:
    """Point MLflow (tracking and registry) at the project's store; return the tracking URI.

    `artifacts_dir` is where experiments created from now on keep their artifacts.
    """
    global _artifacts_dir
    uri = tracking_uri(database_url)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    _artifacts_dir = Path(artifacts_dir).expanduser().resolve()
    return uri


def client() -> MlflowClient:
    return MlflowClient(tracking_uri=mlflow.get_tracking_uri(),
                        registry_uri=mlflow.get_registry_uri())


def experiment_id(model_name: str) -> str:
    """The experiment of one model (same name), created on first use."""
    c = client()
    found = c.get_experiment_by_name(model_name)
    if found is not None:
        return found.experiment_id
    tags = {"salesops.model": model_name}
    if mlflow.get_tracking_uri().startswith(_SERVER_SCHEMES):
        return c.create_experiment(model_name, tags=tags)  # the server's artifact store
    if _artifacts_dir is None:
        raise RuntimeError("call ml.tracking.configure() first")
    location = _artifacts_dir / model_name
    location.mkdir(parents=True, exist_ok=True)
    return c.create_experiment(model_name, artifact_location=location.as_uri(), tags=tags)


def log_classifier(estimator, example, model_name: str, trusted_types: list[str]) -> str:
    """Log a fitted scikit-learn classifier to the active run, serialised with skops, with
    its signature and input example; register it under `model_name` and return the version.

    The requirements are named, which skips MLflow's inference of them (a subprocess that
    reloads the model)."""
    import mlflow.sklearn
    import sklearn
    from mlflow.models import infer_signature

    info = mlflow.sklearn.log_model(
        estimator, name="model", registered_model_name=model_name,
        signature=infer_signature(example, estimator.predict_proba(example)),
        input_example=example, pyfunc_predict_fn="predict_proba",
        skops_trusted_types=trusted_types,
        pip_requirements=[f"scikit-learn=={sklearn.__version__}",
                          f"mlflow=={mlflow.__version__}", "skops"])
    return str(info.registered_model_version)
