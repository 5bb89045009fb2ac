"""Markov attribution (order 1, exact) against ChannelAttribution's `markov_model` (order 1,
simulated) on the same aggregated paths, in the same process.

`--scale N` paths, drawn with replacement from ChannelAttribution's own example
(../shared/data/attribution/channelattribution_paths/Data.csv, 10,000 paths, the default),
or generated when that file is absent. Reports paths per second of each, and the largest gap
between their removal-effect shares (percentage points); orders 2 and 3 and Shapley timings
go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.database import peak_rss_mb
from ml.attribution import Journeys, removal_effects, shapley_values
from ml.attribution.evaluate import channelattribution_shares

DATA = (Path(__file__).resolve().parents[1].parent / "shared" / "data" / "attribution"
        / "channelattribution_paths" / "Data.csv")


def paths(scale: int, seed: int = 0) -> tuple[pd.DataFrame, str]:
    rng = np.random.default_rng(seed)
    if DATA.is_file():
        data = pd.read_csv(DATA, sep=";")
        if scale != len(data):
            data = data.iloc[rng.integers(0, len(data), scale)].reset_index(drop=True)
        return data, f"{DATA.name} ({scale} paths)"
    channels = np.array([f"c{i}" for i in range(12)])
    lengths = rng.geometric(0.25, scale)
    data = pd.DataFrame({
        "path": [" > ".join(rng.choice(channels, n)) for n in lengths],
        "total_conversions": rng.poisson(2, scale),
        "total_null": rng.poisson(7, scale) + 1})
    data["total_conversion_value"] = data["total_conversions"] * rng.gamma(2, 2, scale)
    return data, f"generated ({scale} paths; {DATA} not found)"


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run(scale: int) -> dict:
    data, source = paths(scale)
    j, parse_s = timed(lambda: Journeys.from_path_strings(
        data["path"], data["total_conversions"], data["total_null"],
        data["total_conversion_value"]))
    ours, ours_s = timed(lambda: removal_effects(j, 1))
    ours_s += parse_s
    for order in (2, 3):
        _, s = timed(lambda order=order: removal_effects(j, order))
        print(f"markov order {order}: {s:.3f} s", file=sys.stderr)
    _, s = timed(lambda: shapley_values(j))
    print(f"shapley: {s:.3f} s; parsing {len(j.touch_channel)} touches: {parse_s:.3f} s",
          file=sys.stderr)
    shares = pd.Series(ours.conversion_shares, index=ours.channels, name="ours")

    base_s, gap = None, None
    reference, base_s = timed(lambda: channelattribution_shares(data))
    if reference is None:
        base_s = None
        print("ChannelAttribution is not installed: no baseline "
              "(`uv pip install ChannelAttribution`)", file=sys.stderr)
    else:
        table = pd.concat([shares, reference.rename("channelattribution")], axis=1)
        table["gap_pp"] = (table["ours"] - table["channelattribution"]).abs() * 100
        print(table.round(4).sort_values("ours", ascending=False).to_string(), file=sys.stderr)
        gap = round(float(table["gap_pp"].max()), 3)
    print(f"{source}: ours {ours_s:.3f} s, ChannelAttribution "
          f"{'-' if base_s is None else f'{base_s:.3f} s'}", file=sys.stderr)
    value = scale / ours_s
    baseline = None if base_s is None else scale / base_s
    return {"bench": "attribution", "scale": scale, "value": round(value), "unit": "paths/s",
            "baseline": "ChannelAttribution markov_model (order 1)",
            "baseline_value": None if baseline is None else round(baseline),
            "ratio": None if baseline is None else round(value / baseline, 2),
            "max_share_gap_pp": gap,
            "peak_rss_mb": peak_rss_mb()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.attribution",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10_000, help="aggregated paths")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.scale)))


if __name__ == "__main__":
    main()
