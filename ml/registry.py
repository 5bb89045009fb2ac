"""Champion/challenger in MLflow's model registry.

A new version becomes `champion` when there is none yet, or when its holdout metric beats
the champion's (the value logged in the champion's run); otherwise it becomes `challenger`.
Scoring always loads the champion.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from ml import tracking

CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True)
class TrainResult:
    """What training a model gave: its registered version, run, holdout metrics and alias."""

    version: str
    run_id: str
    metrics: dict[str, float]
    promoted: bool
    alias: str
    baseline_metrics: dict[str, float] = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Promotion:
    alias: str
    previous_champion: str | None
    previous_value: float | None

    @property
    def promoted(self) -> bool:
        return self.alias == CHAMPION


def champion(model_name: str) -> ModelVersion | None:
    """The version aliased `champion`, or None (no registered model or no alias)."""
    try:
        return tracking.client().get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def beats(new_value: float, champion_value: float | None, higher_is_better: bool = True) -> bool:
    """Whether a new version should replace the champion (a missing value never defends)."""
    if champion_value is None:
        return True
    return new_value > champion_value if higher_is_better else new_value < champion_value


def promote(model_name: str, version: str, metric: str, value: float,
            higher_is_better: bool = True) -> Promotion:
    """Alias `version` champion if it beats the champion on `metric`, else challenger."""
    c = tracking.client()
    current = champion(model_name)
    current_value = None
    if current is not None and current.run_id:
        current_value = c.get_run(current.run_id).data.metrics.get(metric)
    if current is None or beats(value, current_value, higher_is_better):
        alias = CHAMPION
    else:
        alias = CHALLENGER
    c.set_registered_model_alias(model_name, alias, version)
    return Promotion(alias, str(current.version) if current else None, current_value)
