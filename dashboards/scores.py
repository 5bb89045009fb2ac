"""Lead scores for people: reasons in words, and how well predictions match outcomes."""

from __future__ import annotations

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


#: Equal-width probability bins of the calibration plot.
CALIBRATION_BINS = 10


def probability_bin(column: str, bins: int = CALIBRATION_BINS) -> str:
    """SQL numbering the bin (0 to bins - 1) of the probability in `column`: bins closed
    on the right, the first one holding 0 too."""
    return f"greatest(ceil({column} * {bins}) - 1, 0)::int"


def calibration(groups: pd.DataFrame, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Predicted against actual conversion per probability bin, from leads counted in SQL.

    `groups` has probability_bin (see `probability_bin`), leads, probability_sum and
    is_converted; one row comes back per non-empty bin: its range, how many leads, their
    mean predicted probability and the share that converted."""
    groups = groups.assign(converted=groups.leads.where(groups.is_converted.astype(bool), 0))
    table = (groups.groupby("probability_bin", as_index=False)
             .agg(leads=("leads", "sum"), probability_sum=("probability_sum", "sum"),
                  converted=("converted", "sum"))
             .sort_values("probability_bin"))
    low = table.probability_bin / bins
    return pd.DataFrame({
        "bin": [f"({lo:.1f}, {lo + 1 / bins:.1f}]" for lo in low],
        "leads": table.leads.astype(int).to_numpy(),
        "predicted": (table.probability_sum / table.leads).to_numpy(),
        "actual": (table.converted / table.leads).to_numpy()})
