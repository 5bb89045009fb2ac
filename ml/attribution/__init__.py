"""Data-driven attribution: which channels and campaigns earned the conversions.

Markov chains (removal effects, order 1 to 3) and Shapley values over converting and
non-converting journeys, written to `ml.attribution` in the dbt attribution mart's long
shape (model, channel, campaign, period, conversions, revenue).

Modules: paths (journeys as flat arrays), markov (removal effects), shapley (Shapley
values), allocate (channel totals -> mart rows), run (warehouse in, MLflow run, table out).
"""

from ml.attribution.markov import RemovalEffects, removal_effects
from ml.attribution.paths import Journeys
from ml.attribution.run import MODEL_NAME, MODELS, attribute
from ml.attribution.shapley import shapley_values

__all__ = ["MODELS", "MODEL_NAME", "Journeys", "RemovalEffects", "attribute",
           "removal_effects", "shapley_values"]
