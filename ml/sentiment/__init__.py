"""Email sentiment: how each interaction reads, and how a contact's or account's mood moves.

`train()` fits word and character n-grams plus VADER's lexicon scores into a logistic
regression on labelled text (time-based holdout, against VADER alone and TF-IDF + logistic
regression), logs it to MLflow and registers it as `email_sentiment`, promoting it only when
its macro F1 beats the champion. `score()` writes `ml.sentiment_analysis` for every
interaction with text; `ml.sentiment_trends` (a view) compares recent and earlier sentiment
per contact and account, and a significant drop emits a `sentiment.dropped` event.

Modules: features (normalising, VADER), model (estimators), data (labelled CSV with a
mapping), evaluate (holdout, metrics), training (MLflow, registry), scoring (batch),
trends (drop alerts).
"""

from importlib import import_module

from ml.sentiment.model import MODEL_NAME

#: Loaded on first use, so `python -m ml.sentiment.evaluate` runs without MLflow imported
#: (and without runpy's warning about a module imported before it runs).
_LAZY = {"score": "ml.sentiment.scoring", "ScoreResult": "ml.sentiment.scoring",
         "train": "ml.sentiment.training", "TrainResult": "ml.sentiment.training"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ml.sentiment' has no attribute {name!r}")


__all__ = ["MODEL_NAME", "ScoreResult", "TrainResult", "score", "train"]
