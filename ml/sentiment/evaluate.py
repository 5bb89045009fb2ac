"""Fit on the older texts and evaluate on the newest (or, without a time column, on a fixed
stratified sample): accuracy and macro F1 of the model, of VADER alone and of TF-IDF +
logistic regression, all on the same holdout.

`python -m ml.sentiment.evaluate --data PATH` prints the evaluation record as its last line
(DESIGN.md: `{"eval": ..., "data": ..., "metrics": {...}, "baseline": {...}}`); nothing is
logged or registered.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import VotingClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from ml.errors import NotEnoughData
from ml.metrics import evaluation_record
from ml.sentiment import data
from ml.sentiment.features import vader_labels, vader_scores
from ml.sentiment.model import MODEL_NAME, build_baseline, build_model

HOLDOUT_FRACTION = 0.2
RANDOM_STATE = 0
MIN_PER_LABEL = 5


def classification_metrics(y_true, y_pred) -> dict[str, float]:
    return {"accuracy": float(accuracy_score(y_true, y_pred)),
            "macro_f1": float(f1_score(y_true, y_pred, average="macro"))}


@dataclass(frozen=True)
class Evaluation:
    model: VotingClassifier
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]  # vader_* and tfidf_lr_*
    holdout: str                        # how the holdout was chosen
    X_train: pd.Series
    n_holdout: int
    source: str
    X_holdout: pd.Series
    y_holdout: pd.Series

    @property
    def record(self) -> dict:
        return evaluation_record(MODEL_NAME, f"{self.source} ({self.holdout})", self.metrics,
                                 self.baseline_metrics)


def split(d: data.Labelled, holdout_fraction: float = HOLDOUT_FRACTION
          ) -> tuple[np.ndarray, np.ndarray, str]:
    """Train and holdout row positions: the newest texts when times are known."""
    positions = np.arange(len(d.text))
    if d.time is not None:
        order = np.argsort(d.time.to_numpy(), kind="stable")
        cut = int(len(order) * (1 - holdout_fraction))
        train, holdout = order[:cut], order[cut:]
        how = f"time-based holdout: the newest {len(holdout)} from {d.time.iloc[holdout[0]]}"
    else:
        train, holdout = train_test_split(positions, test_size=holdout_fraction,
                                          random_state=RANDOM_STATE, stratify=d.label)
        how = f"fixed stratified holdout of {len(holdout)} (seed {RANDOM_STATE})"
    counts = d.label.iloc[train].value_counts()
    if len(counts) < 2 or counts.min() < MIN_PER_LABEL or len(holdout) == 0:
        raise NotEnoughData(
            f"The sentiment model needs at least {MIN_PER_LABEL} training texts of each of "
            f"two labels or more, and a holdout; found {counts.to_dict()} and "
            f"{len(holdout)} held out. Label more texts.")
    return train, holdout, how


def fit_and_evaluate(d: data.Labelled, holdout_fraction: float = HOLDOUT_FRACTION
                     ) -> Evaluation:
    train, holdout, how = split(d, holdout_fraction)
    X_train, y_train = d.text.iloc[train], d.label.iloc[train]
    X_hold, y_hold = d.text.iloc[holdout], d.label.iloc[holdout]
    model = build_model().fit(X_train, y_train)
    baseline = build_baseline().fit(X_train, y_train)
    vader = vader_labels(vader_scores(X_hold)[:, 3])
    baselines = {**{f"vader_{k}": v for k, v in classification_metrics(y_hold, vader).items()},
                 **{f"tfidf_lr_{k}": v for k, v in
                    classification_metrics(y_hold, baseline.predict(X_hold)).items()}}
    if d.dropped_empty:
        how += f"; {d.dropped_empty} rows without text left out"
    return Evaluation(model=model, metrics=classification_metrics(y_hold, model.predict(X_hold)),
                      baseline_metrics=baselines, holdout=how, X_train=X_train,
                      n_holdout=len(holdout), source=d.source, X_holdout=X_hold,
                      y_holdout=y_hold)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True,
                   help="labelled CSV (or its folder), e.g. the airline tweets")
    p.add_argument("--text-column", default=data.Mapping.text)
    p.add_argument("--label-column", default=data.Mapping.label)
    p.add_argument("--time-column", default=data.Mapping.time)
    p.add_argument("--no-time-column", action="store_true",
                   help="no time column: hold out a fixed stratified sample instead")
    return p


def mapping_from(args: argparse.Namespace) -> data.Mapping:
    return data.Mapping(text=args.text_column, label=args.label_column,
                        time=None if args.no_time_column else args.time_column)


def main(argv: list[str] | None = None) -> None:
    from salesops.errors import SalesopsError

    args = parser().parse_args(argv)
    try:
        record = fit_and_evaluate(data.load(args.data, mapping_from(args))).record
    except SalesopsError as exc:
        sys.exit(f"error: {exc}")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
