"""Models: features, training, evaluation, batch scoring, MLflow tracking and registry.

Plain Python on DataFrames and SQL; imports only `salesops`, never Dagster (orchestration
wires these functions into assets and sensors). Each model is a package (`lead_scoring`, ...)
with `features`, `train` and `score` modules; what models share lives here:

- `tracking`: MLflow's tracking store in the project's PostgreSQL (schema `mlflow`), one
  experiment per model, artifacts under the data folder;
- `registry`: champion/challenger aliases in MLflow's model registry;
- `metrics`: evaluation metrics and the one-line evaluation record;
- `explain`: per-lead feature contributions (SHAP) for the `reasons` columns;
- `store`: bulk writes (COPY) into the `ml` schema.
"""
