"""Time in the demo world: seconds since the epoch, counted back from a fixed anchor.

Every timestamp derives from ANCHOR, never from the wall clock, so the same seed always
writes the same bytes. Formatting is vectorised over numpy arrays.
"""

from __future__ import annotations

import numpy as np

ANCHOR = int(np.datetime64("2026-06-30T00:00:00", "s").astype(np.int64))
DAY = 86_400
HISTORY_DAYS = 730  # how far back the demo world's activity reaches


def before_anchor(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Move times that passed the anchor back before it, each to its own moment of the last
    hours, so that clipped times do not pile up on one instant."""
    t = np.asarray(t, dtype=np.int64)
    return np.where(t < ANCHOR, t, ANCHOR - rng.integers(60, 6 * 3_600, len(t)))


def _iso(t: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.asarray(t, dtype=np.int64).astype("datetime64[s]"))


def _blank(text: np.ndarray, missing: np.ndarray | None) -> np.ndarray:
    out = text.astype(object)
    if missing is not None:
        out[missing] = ""
    return out


def sf_datetime(t: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """Salesforce export datetime: 2025-03-04T10:15:00.000+0000."""
    return _blank(np.char.add(_iso(t), ".000+0000"), missing)


def sf_date(t: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """Salesforce export date: 2025-03-04."""
    return _blank(_iso(t).astype("<U10"), missing)


def iso_z(t: np.ndarray) -> np.ndarray:
    """ISO 8601 UTC with milliseconds, as HubSpot and event collectors write it."""
    return np.char.add(_iso(t), ".000Z").astype(object)

