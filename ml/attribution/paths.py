"""Customer journeys as flat arrays: one row per touch, in journey order.

Both the Markov chains and the Shapley game read journeys in this form, so a journey set is
parsed once and every model is vectorised over it. A journey may stand for many customers:
`conversions` of them converted (with `value` revenue in all) and `nulls` did not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: The separator of ChannelAttribution's path strings ("alpha > beta > alpha").
PATH_SEPARATOR = ">"


@dataclass(frozen=True)
class Journeys:
    channels: np.ndarray      # channel names; a touch's channel is an index into this
    touch_channel: np.ndarray  # per touch: channel index (int32)
    touch_journey: np.ndarray  # per touch: journey index, non-decreasing (int64)
    conversions: np.ndarray   # per journey: customers who converted (float)
    nulls: np.ndarray         # per journey: customers who did not (float)
    value: np.ndarray         # per journey: conversion value of those who converted (float)

    @property
    def n_journeys(self) -> int:
        return len(self.conversions)

    @property
    def starts(self) -> np.ndarray:
        """Per touch: whether it opens its journey."""
        first = np.ones(len(self.touch_journey), dtype=bool)
        first[1:] = self.touch_journey[1:] != self.touch_journey[:-1]
        return first

    @property
    def ends(self) -> np.ndarray:
        """Per touch: whether it closes its journey."""
        last = np.ones(len(self.touch_journey), dtype=bool)
        last[:-1] = self.touch_journey[1:] != self.touch_journey[:-1]
        return last

    @classmethod
    def from_touches(cls, touch_journey, touch_channel, conversions, nulls,
                     value=None) -> Journeys:
        """Touches (journey index, channel name) in order; per-journey outcome arrays."""
        journey = np.asarray(touch_journey, dtype=np.int64)
        if len(journey) and np.any(np.diff(journey) < 0):
            raise ValueError("touches must be ordered by journey")
        codes, channels = pd.factorize(np.asarray(touch_channel, dtype=object), sort=True)
        conversions = np.asarray(conversions, dtype=float)
        n = len(conversions)
        if len(journey) and (journey.min() < 0 or journey.max() >= n):
            raise ValueError("a touch names a journey that has no outcome")
        if np.any(np.bincount(journey, minlength=n) == 0):
            raise ValueError("every journey needs at least one touch")
        return cls(channels=np.asarray(channels, dtype=object),
                   touch_channel=codes.astype(np.int32), touch_journey=journey,
                   conversions=conversions, nulls=np.asarray(nulls, dtype=float),
                   value=(np.zeros(n) if value is None else np.asarray(value, dtype=float)))

    @classmethod
    def from_path_strings(cls, paths: pd.Series, conversions, nulls, value=None,
                          sep: str = PATH_SEPARATOR) -> Journeys:
        """ChannelAttribution's aggregated form: one "a > b > c" string per journey."""
        touches = paths.reset_index(drop=True).astype(str).str.split(sep).explode()
        names = touches.str.strip()
        if (names == "").any():
            raise ValueError(f"a path has an empty channel between '{sep}' separators")
        return cls.from_touches(touches.index.to_numpy(), names.to_numpy(),
                                conversions, nulls, value)
