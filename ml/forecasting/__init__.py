"""Win probability and revenue forecast.

Per open deal: the calibrated probability of being won in each of the next months (a
multiclass gradient-boosting model over pipeline snapshots), hence a win probability within
the horizon, an expected close date and a forecast category. Per period (month, quarter)
and per everyone, team and rep: P10/P50/P90 of bookings by Monte-Carlo simulation from
those probabilities, widened by past forecast errors once there are some.

Modules: history (deals from the warehouse's feature views or a mapped CRM export),
features (snapshots and labels), model (estimator, stage-table baseline), simulate
(bookings), evaluate (rolling-origin backtest), train (MLflow run, registry), score
(ml.forecasts).
"""

from ml.forecasting.model import MODEL_NAME

__all__ = ["MODEL_NAME"]
