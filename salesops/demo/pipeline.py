"""Opportunities and their stage history, simulated forward from creation to the anchor.

Won deals walk every stage (sometimes skipping one); lost deals drop out at a stage and
stall there first. Durations are gamma-distributed and longer at bigger companies; deals
whose path ends after the anchor are still open at the stage they had reached. Winning
depends on the same latent propensity as conversion, plus company size and relationship.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesops.demo import clock
from salesops.demo.people import Chunk

STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Proposal", "Negotiation",
          "Closed Won", "Closed Lost")
PROBABILITY = (10, 20, 40, 60, 80, 100, 0)
FORECAST_NAME = ("Pipeline", "Pipeline", "Pipeline", "Best Case", "Commit", "Closed", "Omitted")
FORECAST_API = ("Pipeline", "Pipeline", "Pipeline", "BestCase", "Forecast", "Closed", "Omitted")
MEAN_DAYS = np.array([7.0, 12.0, 16.0, 14.0, 10.0])
LOST_AT = (0.3, 0.3, 0.2, 0.12, 0.08)
LOSS_REASONS = ("Price", "Competitor", "No Decision", "Timing", "Feature Gap", "Budget", "")
WON, LOST = 5, 6


@dataclass(frozen=True)
class Deals:
    opps: pd.DataFrame  # one row per opportunity (internal columns, times in epoch seconds)
    history: pd.DataFrame  # one row per stage an opportunity entered before the anchor


def simulate(rng: np.random.Generator, chunk: Chunk) -> Deals:
    p = chunk.people[chunk.people["has_opp"].to_numpy()].reset_index(drop=True)
    a = chunk.accounts.iloc[p["acc_row"].to_numpy()].reset_index(drop=True)
    n = len(p)
    employees = a["employees"].to_numpy()
    existing = a["existing"].to_numpy()
    win_logit = (-1.3 + 0.45 * p["logit"].to_numpy() + 0.4 * existing
                 - 0.35 * (employees > 2_000) + rng.normal(0, 0.7, n))
    won = rng.random(n) < 1 / (1 + np.exp(-win_logit))
    exit_stage = np.where(won, 4, rng.choice(5, size=n, p=LOST_AT))

    slow = 1 + 0.3 * np.maximum(0, np.log10(employees) - 2)
    days = rng.gamma(2.0, MEAN_DAYS / 2, size=(n, 5)) * slow[:, None]
    stage_no = np.arange(5)[None, :]
    skipped = won[:, None] & (rng.random((n, 5)) < np.array([0, 0.08, 0.08, 0, 0]))
    days[skipped] = 0
    stalled = ~won[:, None] & (stage_no == exit_stage[:, None])
    days = np.where(stalled, days * 1.4, days)
    reached = stage_no <= exit_stage[:, None]
    seconds = np.where(reached, days * clock.DAY, 0).astype(np.int64)
    opened = p["opp_at"].to_numpy()
    entry = opened[:, None] + np.cumsum(seconds, axis=1) - seconds
    ended = opened + seconds.sum(axis=1)
    closed = ended <= clock.ANCHOR
    entered = reached & ~skipped & (entry <= clock.ANCHOR)
    current = np.where(closed, np.where(won, WON, LOST), 4 - np.argmax(entered[:, ::-1], axis=1))

    base = np.exp(np.log(6_000) + 0.45 * np.log(np.maximum(employees / 10, 1))
                  + rng.normal(0, 0.5, n)) * np.where(existing, 0.6, 1.0)
    proposal = base * rng.uniform(0.8, 1.25, n)
    negotiated = proposal * rng.uniform(0.85, 1.0, n)
    amount = np.round(np.stack([base, base, base, proposal, negotiated], axis=1), -2)
    remaining = np.cumsum(MEAN_DAYS[::-1])[::-1] * clock.DAY
    expected = entry + (remaining[None, :] * slow[:, None] * rng.uniform(0.8, 1.3, (n, 1))
                        ).astype(np.int64)

    rows, stage = np.nonzero(entered)
    done = np.flatnonzero(closed)
    history = pd.DataFrame({
        "opp": np.concatenate([rows, done]),
        "stage": np.concatenate([stage, current[done]]),
        "amount": np.concatenate([amount[rows, stage], amount[done, exit_stage[done]]]),
        "close": np.concatenate([expected[rows, stage], ended[done]]),
        "created": np.concatenate([entry[rows, stage], ended[done]]),
    }).sort_values(["opp", "stage"], kind="stable").reset_index(drop=True)
    history["pid"] = p["pid"].to_numpy()[history["opp"].to_numpy()]

    last_stage = np.minimum(current, 4)
    open_close = expected[np.arange(n), last_stage]
    stale = rng.random(n) < 0.3
    open_close = np.where((open_close < clock.ANCHOR) & ~stale,
                          clock.ANCHOR + rng.integers(7, 60, n) * clock.DAY, open_close)
    last_change = history.groupby("opp")["created"].max().reindex(range(n)).to_numpy()
    opps = pd.DataFrame({
        "pid": p["pid"].to_numpy(),
        "acc_row": p["acc_row"].to_numpy(),
        "owner": p["owner"].to_numpy(),
        "source": p["source"].to_numpy(),
        "campaign": p["campaign"].to_numpy(),
        "new_business": p["converted"].to_numpy(),
        "stage": current,
        "amount": amount[np.arange(n), np.where(closed, exit_stage, last_stage)],
        "closed": closed,
        "won": closed & won,
        "close": np.where(closed, ended, open_close),
        "created": opened,
        "modified": clock.before_anchor(rng, last_change + rng.integers(0, 3 * clock.DAY, n)),
        "loss_reason": np.where(closed & ~won,
                                rng.choice(np.array(LOSS_REASONS, dtype=object), n), ""),
        "seats": np.maximum(3, np.round(np.sqrt(employees) * rng.uniform(0.5, 2, n))).astype(int),
    })
    return Deals(opps=opps, history=history)
