"""Shapley-value attribution over converting and non-converting journeys.

The game (after Zhao et al., 2018, "Shapley value methods for attribution modeling in
online advertising"): the worth of a set U of channels is the conversion rate of the
journeys that used only channels in U, so non-converting journeys count through the rates.
Each group of journeys with the same channel set T shares its conversions and value among
T's channels in proportion to their Shapley values in the game restricted to the subsets of
T: credit stays where conversions happened, and a rare channel is not credited for
coalitions nobody took. Values sum to the journeys' totals; a channel that lowers the rate
of the journeys it joins gets a negative share, reported as it is.

Exact and vectorised over coalitions (subset sums by the fast zeta transform), so it is
limited to MAX_CHANNELS channels; group rare channels before calling it beyond that.
"""

from __future__ import annotations

from math import factorial

import numpy as np
import pandas as pd

from ml.attribution.paths import Journeys

MAX_CHANNELS = 20


def _subset_sums(f: np.ndarray, n: int) -> np.ndarray:
    """g[S] = sum of f[T] over every T subset of S (bitmask index), for all S at once."""
    g = f.copy()
    for i in range(n):
        view = g.reshape(-1, 2, 1 << i)
        view[:, 1, :] += view[:, 0, :]
    return g


def _shapley(worth: np.ndarray, n: int) -> np.ndarray:
    """Shapley values of a game given as worth[mask] for all 2^n coalitions."""
    masks = np.arange(1 << n)
    size = np.bitwise_count(masks.astype(np.uint32)).astype(np.int64)
    weight = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)])
    values = np.empty(n)
    for i in range(n):
        without = masks[(masks >> i) & 1 == 0]
        values[i] = np.sum(weight[size[without]] * (worth[without | (1 << i)] - worth[without]))
    return values


def _local_shares(rate: np.ndarray, mask: int) -> tuple[np.ndarray, np.ndarray]:
    """The channels of `mask` and their Shapley shares of the game on mask's subsets."""
    members = np.flatnonzero([(mask >> c) & 1 for c in range(mask.bit_length())])
    idx = np.arange(1 << len(members))
    submasks = np.zeros_like(idx)
    for j, channel in enumerate(members):
        submasks |= ((idx >> j) & 1) << int(channel)
    phi = _shapley(rate[submasks], len(members))
    return members, phi / phi.sum()


def shapley_values(j: Journeys) -> pd.DataFrame:
    """Per channel: attributed conversions and value (each summing to the journeys' totals)."""
    n = len(j.channels)
    if n > MAX_CHANNELS:
        raise ValueError(f"Shapley attribution is exact over at most {MAX_CHANNELS} channels; "
                         f"found {n}: group the rare ones (e.g. into 'other') first")
    sets = np.zeros(j.n_journeys, dtype=np.int64)
    np.bitwise_or.at(sets, j.touch_journey, np.int64(1) << j.touch_channel.astype(np.int64))
    size = 1 << n
    by_set = {name: np.bincount(sets, weights=w, minlength=size)
              for name, w in (("reached", j.conversions + j.nulls),
                              ("converted", j.conversions), ("value", j.value))}
    reached = _subset_sums(by_set["reached"], n)
    rate = np.divide(_subset_sums(by_set["converted"], n), reached, out=np.zeros(size),
                     where=reached > 0)
    conversions, value = np.zeros(n), np.zeros(n)
    for mask in np.flatnonzero(by_set["converted"] > 0):
        members, shares = _local_shares(rate, int(mask))
        conversions[members] += by_set["converted"][mask] * shares
        value[members] += by_set["value"][mask] * shares
    return pd.DataFrame({"channel": j.channels, "conversions": conversions, "value": value})
