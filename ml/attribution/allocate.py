"""From channel totals to the attribution mart's long shape: one row per model, channel,
campaign and month of conversion.

A model credits channels (ChannelAttribution reports the same per-channel totals); within a
channel the credit is split over campaigns and months the way the channel's touches fall on
converting journeys: each converting journey counts once per channel it touched, shared
equally by that channel's touches in it, weighted by the journey's conversions (for
conversions) and value (for revenue).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.attribution.paths import Journeys

#: The columns of the attribution mart (and of ml.attribution), in order.
MART_COLUMNS = ("model", "channel", "campaign", "period", "conversions", "revenue")
#: Conversions with no touchpoint, as the dbt mart names them.
UNATTRIBUTED = "unattributed"


def touch_share(j: Journeys) -> np.ndarray:
    """Per touch: 1 / the touches of its channel in its journey (a journey counts once per
    channel)."""
    pair = j.touch_journey * len(j.channels) + j.touch_channel
    _, inverse, counts = np.unique(pair, return_inverse=True, return_counts=True)
    return 1.0 / counts[inverse]


def allocate(model: str, totals: pd.DataFrame, j: Journeys,
             campaign: pd.Series, period: pd.Series) -> pd.DataFrame:
    """Rows of the mart for one model.

    `totals` has per channel (name) its attributed `conversions` and `value`; `campaign` and
    `period` are per touch (aligned with the journeys' touches; period = month of the
    conversion, unused for non-converting journeys). A first-order chain can credit a
    channel seen only on non-converting journeys (it leads to channels that convert); its
    credit is split by its own campaigns and by the months of all conversions.
    """
    share = touch_share(j)
    touches = pd.DataFrame({
        "channel": j.channels[j.touch_channel], "campaign": campaign.to_numpy(),
        "period": period.to_numpy(), "w_conv": j.conversions[j.touch_journey] * share,
        "w_value": j.value[j.touch_journey] * share,
        "w_all": (j.conversions + j.nulls)[j.touch_journey] * share,
    })
    keys = ["channel", "campaign", "period"]
    converting = touches[touches["w_conv"] > 0]
    cells = converting.groupby(keys, dropna=False, as_index=False)[["w_conv", "w_value"]].sum()
    credited = totals.loc[(totals["conversions"] != 0) | (totals["value"] != 0), "channel"]
    orphans = set(credited) - set(cells["channel"])
    if orphans:
        months = converting.groupby("period")["w_conv"].sum()
        months = (months / months.sum()).rename("month_share").reset_index()
        own = (touches[touches["channel"].isin(orphans)]
               .groupby(["channel", "campaign"], dropna=False, as_index=False)["w_all"].sum())
        extra = own.merge(months, how="cross")
        extra["w_conv"] = extra["w_value"] = extra["w_all"] * extra["month_share"]
        cells = pd.concat([cells, extra[keys + ["w_conv", "w_value"]]], ignore_index=True)
    by_channel = cells.groupby("channel")[["w_conv", "w_value"]].transform("sum")
    frac_conv = cells["w_conv"] / by_channel["w_conv"]
    # a channel whose converting journeys had no value splits revenue like conversions
    frac_value = (cells["w_value"] / by_channel["w_value"]).where(by_channel["w_value"] > 0,
                                                                 frac_conv)
    total = totals.set_index("channel").reindex(cells["channel"]).fillna(0.0)
    return pd.DataFrame({
        "model": model, "channel": cells["channel"], "campaign": cells["campaign"],
        "period": cells["period"],
        "conversions": frac_conv.to_numpy() * total["conversions"].to_numpy(),
        "revenue": frac_value.to_numpy() * total["value"].to_numpy(),
    })[list(MART_COLUMNS)]


def unattributed_rows(model: str, conversions: pd.DataFrame) -> pd.DataFrame:
    """Conversions without touchpoints (columns period, revenue), one row per month."""
    grouped = conversions.groupby("period", as_index=False).agg(
        conversions=("revenue", "size"), revenue=("revenue", "sum"))
    return pd.DataFrame({
        "model": model, "channel": UNATTRIBUTED, "campaign": None,
        "period": grouped["period"], "conversions": grouped["conversions"].astype(float),
        "revenue": grouped["revenue"].astype(float),
    })[list(MART_COLUMNS)]
