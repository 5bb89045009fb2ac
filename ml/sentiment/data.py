"""Labelled text for training and evaluating the sentiment model: a CSV with a text column,
a label column (negative / neutral / positive) and, optionally, a time column for a
time-based holdout. The defaults read the airline-tweets data set as it is published.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ml.errors import NotEnoughData
from ml.sentiment.features import LABELS
from salesops.errors import SalesopsError

#: File name of the airline-tweets release (a folder given as --data is searched for it).
AIRLINE_TWEETS_FILE = "Airline-Sentiment-2-w-AA.csv"


@dataclass(frozen=True)
class Mapping:
    """Which columns hold the text, the label and (optionally) when it was written."""

    text: str = "text"
    label: str = "airline_sentiment"
    time: str | None = "tweet_created"


@dataclass(frozen=True)
class Labelled:
    text: pd.Series
    label: pd.Series
    time: pd.Series | None
    source: str
    dropped_empty: int  # rows without text, reported (never silently dropped)


def _csv_in(path: Path) -> Path:
    if path.is_file():
        return path
    if path.is_dir():
        if (path / AIRLINE_TWEETS_FILE).is_file():
            return path / AIRLINE_TWEETS_FILE
        found = sorted(path.glob("*.csv"))
        if len(found) == 1:
            return found[0]
        raise SalesopsError(f"{path} holds {len(found)} CSV files: name the one to use "
                            f"with --data PATH/FILE.csv.")
    raise SalesopsError(f"No labelled data at {path}: give --data the CSV file (or its folder).")


def load(path: Path, mapping: Mapping = Mapping()) -> Labelled:
    """Read labelled text; a clear error for missing columns or unknown labels."""
    csv = _csv_in(Path(path))
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    wanted = [c for c in (mapping.text, mapping.label, mapping.time) if c]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise SalesopsError(
            f"{csv.name} has no column {', '.join(map(repr, missing))} (it has "
            f"{', '.join(frame.columns[:12])}...): map yours with --text-column, "
            f"--label-column and --time-column (or --no-time-column).")
    label = frame[mapping.label].str.strip().str.lower()
    unknown = sorted(set(label) - set(LABELS))
    if unknown:
        raise SalesopsError(
            f"{csv.name}: column {mapping.label!r} has labels {unknown[:5]} besides "
            f"{', '.join(LABELS)}: relabel them, or map another column with --label-column.")
    text = frame[mapping.text].str.strip()
    keep = text != ""
    time = None
    if mapping.time:
        time = pd.to_datetime(frame.loc[keep, mapping.time], errors="coerce", format="mixed")
        if time.isna().any():
            raise SalesopsError(
                f"{csv.name}: {int(time.isna().sum())} rows have no readable time in "
                f"{mapping.time!r}: fix them, or pass --no-time-column for a random holdout.")
    if keep.sum() == 0 or label[keep].nunique() < 2:
        raise NotEnoughData(f"{csv.name} needs texts of at least two labels to train a "
                            f"sentiment model; found {int(keep.sum())} texts.")
    return Labelled(text=text[keep].reset_index(drop=True),
                    label=label[keep].reset_index(drop=True),
                    time=None if time is None else time.reset_index(drop=True),
                    source=str(csv), dropped_empty=int((~keep).sum()))
