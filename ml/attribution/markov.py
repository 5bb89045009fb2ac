"""Markov-chain attribution: removal effects of an order-k chain over the journeys.

States are the last k channels of a journey (shorter at its start), plus the absorbing
`conversion` and `null`. A channel's removal effect is the share of conversions (and of
conversion value) lost when every state that contains the channel leads to `null` instead:
the same definition as ChannelAttribution's `markov_model`, solved exactly (one sparse linear
system per channel) where that package simulates.

Value: each conversion is worth the mean value of the conversions that ended in the same
state, so the expected value from the start is sum over states of expected visits x
P(state -> conversion) x that mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from ml.attribution.paths import Journeys

MAX_ORDER = 3


@dataclass(frozen=True)
class RemovalEffects:
    channels: np.ndarray
    conversion: np.ndarray  # removal effect on conversions, per channel (0-1)
    value: np.ndarray       # removal effect on conversion value, per channel (0-1)

    @staticmethod
    def _shares(effects: np.ndarray) -> np.ndarray:
        total = effects.sum()
        return effects / total if total > 0 else np.zeros_like(effects)

    @property
    def conversion_shares(self) -> np.ndarray:
        return self._shares(self.conversion)

    @property
    def value_shares(self) -> np.ndarray:
        return self._shares(self.value)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"channel": self.channels, "removal_effect": self.conversion,
                             "removal_effect_value": self.value,
                             "share": self.conversion_shares,
                             "value_share": self.value_shares})


def _state_codes(j: Journeys, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Per touch: its state (index), and per state: the channels it contains (bool matrix)."""
    base = len(j.channels) + 1  # digit 0 = "no earlier touch" (journey start)
    pos = np.arange(len(j.touch_journey)) - np.flatnonzero(j.starts)[
        np.cumsum(j.starts) - 1]
    code = (j.touch_channel.astype(np.int64) + 1)
    for lag in range(1, order):
        earlier = np.roll(j.touch_channel, lag).astype(np.int64) + 1
        code = code + np.where(pos >= lag, earlier, 0) * base**lag
    states, touch_state = np.unique(code, return_inverse=True)
    digits = np.stack([(states // base**lag) % base for lag in range(order)], axis=1)
    contains = np.stack([(digits == c + 1).any(axis=1) for c in range(len(j.channels))])
    return touch_state, contains


def removal_effects(j: Journeys, order: int = 1) -> RemovalEffects:
    """Removal effects (conversions and value) of every channel in an order-k chain."""
    if not 1 <= order <= MAX_ORDER:
        raise ValueError(f"Markov order must be 1 to {MAX_ORDER}, not {order}")
    if j.conversions.sum() <= 0:
        raise ValueError("no journey converted: removal effects are undefined")
    touch_state, contains = _state_codes(j, order)
    n_states = contains.shape[1]
    customers = (j.conversions + j.nulls)[j.touch_journey]
    starts, ends = j.starts, j.ends

    # transitions between states, weighted by the customers who made them
    moves = ~ends
    Q = sp.coo_matrix((customers[moves], (touch_state[moves], touch_state[1:][moves[:-1]])),
                      shape=(n_states, n_states)).tocsr()
    start = np.bincount(touch_state[starts], weights=customers[starts], minlength=n_states)
    last = touch_state[ends]
    to_conv = np.bincount(last, weights=j.conversions, minlength=n_states)
    conv_value = np.bincount(last, weights=j.value, minlength=n_states)
    out = np.asarray(Q.sum(axis=1)).ravel() + np.bincount(
        last, weights=j.conversions + j.nulls, minlength=n_states)
    safe = np.where(out > 0, out, 1.0)
    Q = sp.diags(1.0 / safe) @ Q
    p_conv = to_conv / safe
    mean_value = np.divide(conv_value, to_conv, out=np.zeros(n_states), where=to_conv > 0)
    q0 = start / start.sum()

    def outcome(keep: np.ndarray) -> tuple[float, float]:
        """P(conversion) and expected value when only the `keep` states remain."""
        k = sp.diags(keep.astype(float))
        system = (sp.identity(n_states, format="csc") - (Q @ k).T).tocsc()
        visits = spsolve(system, q0 * keep)
        return float(visits @ p_conv), float(visits @ (p_conv * mean_value))

    base_conv, base_value = outcome(np.ones(n_states, dtype=bool))
    effects = np.array([outcome(~contains[c]) for c in range(len(j.channels))])
    conv = 1.0 - effects[:, 0] / base_conv
    value = 1.0 - effects[:, 1] / base_value if base_value > 0 else np.zeros(len(conv))
    return RemovalEffects(j.channels, np.clip(conv, 0, 1), np.clip(value, 0, 1))
