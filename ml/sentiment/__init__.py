"""Email sentiment: how each interaction reads, and how a contact's or account's mood moves.

`train()` fits word and character n-grams plus VADER's lexicon scores into a logistic
regression on labelled text (time-based holdout, against VADER alone and TF-IDF + logistic
regression), logs it to MLflow and registers it as `email_sentiment`, promoting it only when
its macro F1 beats the champion. `score()` writes `ml.sentiment_analysis` for every
interaction with text; `ml.sentiment_trends` (a view) compares recent and earlier sentiment
per contact and account, and a significant drop emits a `sentiment.dropped` event.

Modules: features (normalising, VADER), model (estimators), data (labelled CSV with a
mapping), evaluate (holdout, metrics), train (MLflow, registry), score (batch scoring),
trends (drop alerts).
"""

from ml.sentiment.model import MODEL_NAME
from ml.sentiment.score import ScoreResult, score
from ml.sentiment.train import TrainResult, train

__all__ = ["MODEL_NAME", "ScoreResult", "TrainResult", "score", "train"]
