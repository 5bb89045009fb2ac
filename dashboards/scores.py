"""Lead scores for people: reasons in words, and how well predictions match outcomes."""

from __future__ import annotations

import numpy as np
import pandas as pd


def reasons_text(reasons, k: int = 3) -> str:
    """`ml.lead_scores.reasons` (a list of {feature, value, contribution, direction}) as
    `feature = value (up), ...`, the `k` strongest first."""
    if not isinstance(reasons, list) or not reasons:
        return ""
    strongest = sorted(reasons, key=lambda r: abs(r.get("contribution") or 0), reverse=True)
    return ", ".join(
        f"{r.get('feature', '?').replace('_', ' ')} = {r.get('value')} "
        f"({'raises' if r.get('direction') == 'up' else 'lowers'})"
        for r in strongest[:k])


def calibration(probability: pd.Series, converted: pd.Series, bins: int = 10) -> pd.DataFrame:
    """Predicted against actual conversion, in `bins` equal-width probability bins.

    One row per non-empty bin: its range, how many leads, their mean predicted probability
    and the share that converted."""
    edges = np.linspace(0, 1, bins + 1)
    frame = pd.DataFrame({"predicted": probability.astype(float),
                          "converted": converted.astype(bool).astype(float)})
    frame["bin"] = pd.cut(frame.predicted, edges, include_lowest=True)
    table = (frame.groupby("bin", observed=True)
             .agg(leads=("converted", "size"), predicted=("predicted", "mean"),
                  actual=("converted", "mean"))
             .reset_index())
    table["bin"] = table["bin"].astype(str)
    return table
