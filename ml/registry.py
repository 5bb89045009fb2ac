"""Champion/challenger in MLflow's model registry.

A new version becomes `champion` when there is none yet, or when it beats the champion on
the new version's holdout: the champion is loaded and scored on the same rows (`on_holdout`),
so both are judged on the same data. Where that cannot be done (the caller gives no way,
the champion cannot be loaded or scored, or the holdout has no row the champion did not
learn from) the champion's value logged in its own run stands in, and `Promotion.compared_on`
says which comparison decided. Otherwise the new version becomes `challenger`. Scoring
always loads the champion.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from ml import tracking

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
#: Promotion.compared_on: how the champion was judged.
SAME_HOLDOUT = "the new version's holdout"
OWN_HOLDOUT = "the champion's own holdout (logged in its run)"
NO_CHAMPION = "no champion yet"

#: (champion model, champion's run) -> (champion's value, new version's value) on the same
#: holdout rows, or None when no such rows exist (e.g. the champion learned from them all).
HoldoutComparison = Callable[[Any, Run], "tuple[float, float] | None"]


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
    #: The new version's value in the comparison (its holdout metric, or on the rows shared).
    value: float | None = None
    compared_on: str = NO_CHAMPION

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


def _on_same_holdout(model_name: str, current: ModelVersion, run: Run,
                     on_holdout: HoldoutComparison) -> tuple[float, float] | None:
    import mlflow.sklearn

    try:
        model = mlflow.sklearn.load_model(f"models:/{model_name}/{current.version}")
        return on_holdout(model, run)
    except Exception as exc:  # a champion of another shape (older features...): say so
        log.warning("%s: champion version %s could not be scored on the new holdout (%s: "
                    "%s); comparing with the value logged in its run", model_name,
                    current.version, type(exc).__name__, exc)
        return None


def promote(model_name: str, version: str, metric: str, value: float,
            higher_is_better: bool = True,
            on_holdout: HoldoutComparison | None = None) -> Promotion:
    """Alias `version` champion if it beats the champion on `metric`, else challenger; with
    `on_holdout`, both are measured on the new version's holdout. The comparison is logged
    on the new version's run (tags `promotion.*`)."""
    c = tracking.client()
    current = champion(model_name)
    if current is None:
        c.set_registered_model_alias(model_name, CHAMPION, version)
        return Promotion(CHAMPION, None, None, value)
    run = c.get_run(current.run_id) if current.run_id else None
    pair = None
    if on_holdout is not None and run is not None:
        pair = _on_same_holdout(model_name, current, run, on_holdout)
    if pair is not None:
        current_value, value = pair
        compared_on = SAME_HOLDOUT
    else:
        current_value = run.data.metrics.get(metric) if run is not None else None
        compared_on = OWN_HOLDOUT
    alias = CHAMPION if beats(value, current_value, higher_is_better) else CHALLENGER
    c.set_registered_model_alias(model_name, alias, version)
    new_run = c.get_model_version(model_name, version).run_id
    if new_run:
        for key, tag in (("compared_on", compared_on), ("metric", metric),
                         ("champion_version", str(current.version)),
                         ("champion_value", str(current_value)), ("value", str(value)),
                         ("alias", alias)):
            c.set_tag(new_run, f"promotion.{key}", tag)
    return Promotion(alias, str(current.version), current_value, value, compared_on)
