"""Attribution checked on aggregated paths in ChannelAttribution's form (`path` as
"a > b > c", `total_conversions`, `total_null`, optionally `total_conversion_value`).

Every model (Markov order 1 to 3, Shapley) credits the same paths; the reference is the
`ChannelAttribution` package's `markov_model` at order 1 when it is installed (it builds from
source), and the record says so when it is not. The measure is the largest gap, in
percentage points, between our order-1 removal-effect shares and the package's (issue 5:
within 1 point). `salesops ml evaluate attribution --data PATH` prints the record last.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from ml.attribution.markov import removal_effects
from ml.attribution.paths import Journeys
from ml.attribution.run import MODEL_NAME, ORDERS, SHAPLEY, markov_model
from ml.attribution.shapley import shapley_values
from ml.metrics import evaluation_record
from salesops.errors import SalesopsError

REQUIRED = ("path", "total_conversions", "total_null")
VALUE = "total_conversion_value"
REFERENCE = "channelattribution_markov_order_1"


def read_paths(data: Path) -> tuple[pd.DataFrame, str]:
    """The paths CSV (`;` or `,` separated), or the one CSV in the folder `data`."""
    path = Path(data)
    if path.is_dir():
        found = sorted(path.glob("*.csv"))
        if len(found) != 1:
            raise SalesopsError(f"{path} holds {len(found)} CSV files: give --data the paths "
                                "file itself.")
        path = found[0]
    if not path.is_file():
        raise SalesopsError(f"{path}: no such file or folder")
    with path.open(encoding="utf-8") as f:
        header = f.readline()
    frame = pd.read_csv(path, sep=";" if header.count(";") > header.count(",") else ",")
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise SalesopsError(f"{path.name} has no column {', '.join(missing)}: attribution reads "
                            f"ChannelAttribution's form ({', '.join(REQUIRED)}, optionally "
                            f"{VALUE}).")
    if VALUE not in frame.columns:
        frame[VALUE] = 0.0
    return frame, str(path)


def journeys_of(paths: pd.DataFrame) -> Journeys:
    return Journeys.from_path_strings(paths["path"], paths["total_conversions"],
                                      paths["total_null"], paths[VALUE])


def channelattribution_shares(paths: pd.DataFrame) -> pd.Series | None:
    """The package's order-1 removal-effect shares per channel; None when not installed."""
    if importlib.util.find_spec("ChannelAttribution") is None:
        return None
    import ChannelAttribution

    ref = ChannelAttribution.markov_model(
        paths, "path", "total_conversions", var_value=VALUE, var_null="total_null", order=1,
        out_more=True, verbose=False, flg_pro=False)
    effects = ref["removal_effects"].set_index("channel_name")["removal_effects_conversion"]
    return effects / effects.sum()


def model_shares(j: Journeys) -> pd.DataFrame:
    """Each model's share of the conversions per channel (columns: the models)."""
    shares = {markov_model(k): removal_effects(j, k).conversion_shares for k in ORDERS}
    credit = shapley_values(j)["conversions"].to_numpy()
    shares[SHAPLEY] = credit / credit.sum() if credit.sum() > 0 else credit
    return pd.DataFrame(shares, index=pd.Index(j.channels, name="channel"))


def evaluate(paths: pd.DataFrame, source: str) -> dict:
    j = journeys_of(paths)
    ours = model_shares(j)
    reference = channelattribution_shares(paths)
    metrics = {"paths": len(paths), "channels": len(j.channels),
               "conversions": float(paths["total_conversions"].sum())}
    baseline: dict = {}
    details: dict = {}
    if reference is None:
        details["reference"] = ("ChannelAttribution is not installed (`uv pip install "
                                "ChannelAttribution`, needs a C++ compiler): no reference")
    else:
        gap = (ours[markov_model(1)] - reference.reindex(ours.index).fillna(0.0)).abs()
        metrics["max_share_gap_pp_order_1"] = float(gap.max() * 100)
        baseline[REFERENCE] = {str(k): float(v) for k, v in reference.items()}
    shares = {model: {str(k): round(float(v), 4) for k, v in ours[model].items()}
              for model in ours.columns}
    return evaluation_record(MODEL_NAME, f"{source}: conversion shares per channel", metrics,
                             baseline, shares=shares, **details)
