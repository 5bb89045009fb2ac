"""Lead scoring: how likely an open lead is to convert, with the reasons why.

`train()` fits a calibrated gradient-boosting model on closed leads of `marts.lead_features`
(time-based holdout, logistic-regression baseline), logs it to MLflow and registers it as
`lead_scoring`, promoting it to `champion` only when it beats the current one. `score()`
loads the champion and writes `ml.lead_scores` for open leads.

Modules: features (SQL and feature building), model (estimators), evaluate (time split,
metrics), train (MLflow run, registry), score (batch scoring, bands, reasons, score-change
events, the last served champion when MLflow is down), leakage (columns filled in after the
outcome), tabular (the same on any lead file read through a column mapping).
"""

from ml.lead_scoring.model import MODEL_NAME
from ml.lead_scoring.score import (
    BAND_THRESHOLDS,
    SCORE_CHANGE_THRESHOLD,
    SCORE_CHANGED,
    ScoreRun,
    band_for,
    score,
)
from ml.lead_scoring.train import TrainResult, train

__all__ = ["BAND_THRESHOLDS", "MODEL_NAME", "SCORE_CHANGED", "SCORE_CHANGE_THRESHOLD",
           "ScoreRun", "TrainResult", "band_for", "score", "train"]
