"""Text features of the sentiment model: normalised text, VADER's lexicon scores and
sentence embeddings.

Nothing is downloaded at run time. VADER (vaderSentiment) ships its lexicon inside the
package; its four scores (negative, neutral, positive, compound) are both the lexicon
baseline and features of the trained classifier, next to word and character n-grams.
WordLlama (wordllama) ships its 256-dimension token embeddings and tokenizer inside its
wheel, and needs numpy only (no torch): its sentence embeddings are the classifier's third
kind of feature.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

LABELS = ("negative", "neutral", "positive")
#: VADER's documented thresholds on the compound score for a three-way label.
VADER_THRESHOLD = 0.05

_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"@\w+")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")
_NUMBER = re.compile(r"\d+")


def normalise(text: str) -> str:
    """Lowercase, with addresses, handles, links and numbers replaced by placeholders: the
    words around them carry the sentiment, their values do not."""
    text = _URL.sub(" _url_ ", text)
    text = _EMAIL.sub(" _email_ ", text)
    text = _HANDLE.sub(" _handle_ ", text)
    return _NUMBER.sub("0", text).lower()


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def vader_scores(texts) -> np.ndarray:
    """Per text: VADER's negative, neutral, positive and compound scores."""
    polarity = _analyzer().polarity_scores
    return np.array([[s["neg"], s["neu"], s["pos"], s["compound"]]
                     for s in map(polarity, (str(t) for t in texts))], dtype=float)


def vader_labels(compound: np.ndarray) -> np.ndarray:
    """The three-way label of each compound score (VADER's own rule)."""
    return np.select([compound >= VADER_THRESHOLD, compound <= -VADER_THRESHOLD],
                     ["positive", "negative"], default="neutral")


class VaderScores(TransformerMixin, BaseEstimator):
    """VADER's four scores as features (stateless: the lexicon ships with vaderSentiment)."""

    def fit(self, X, y=None):
        return self

    def transform(self, X) -> np.ndarray:
        return vader_scores(X)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.array(["vader_neg", "vader_neu", "vader_pos", "vader_compound"], dtype=object)


@lru_cache(maxsize=1)
def _embedder():
    """WordLlama's default model from the files in its own package (its loader would look
    for the tokenizer elsewhere and try the network). Imported here: it takes ~1 s."""
    import wordllama

    return wordllama.WordLlama.load(cache_dir=Path(wordllama.__file__).parent,
                                    disable_download=True)


class SentenceEmbeddings(TransformerMixin, BaseEstimator):
    """WordLlama's sentence embedding of each normalised text (stateless: the model ships
    with wordllama and is loaded once per process, never saved with ours)."""

    def fit(self, X, y=None):
        return self

    def transform(self, X) -> np.ndarray:
        return _embedder().embed([normalise(str(t)) for t in X]).astype(float)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.array([f"embedding_{i}" for i in range(_embedder().embed(["x"]).shape[1])],
                        dtype=object)
