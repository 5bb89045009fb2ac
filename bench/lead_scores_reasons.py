"""`ml.lead_scores.reasons` as `json` (what the table holds) against `jsonb` (what it held):
the COPY that scoring does, and the reads that the API and dashboards do.

    python -m bench.lead_scores_reasons [--scale N] [--repeat R]

`--scale` rows of three reasons each, shaped as `ml.explain.reasons_json` writes them, are
COPY'd into two unlogged tables that differ only in the column's type; then each is read
back as its readers do (the whole value, fetched and decoded by psycopg), and as COPY out.
Best of `--repeat` runs, alternating the two. The last line is the JSON record; `value` is
json's COPY rate, `baseline_value` jsonb's, and the read times of both follow.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from bench.database import peak_rss_mb, scratch_database
from salesops.db import sqlalchemy_url

FEATURES = ["Total Time Spent on Website", "lead_source", "email_clicks", "title_seniority",
            "industry", "country"]


def reasons_rows(scale: int, seed: int = 0) -> str:
    """COPY text: id, then a reasons list as scoring writes it."""
    rng = np.random.default_rng(seed)
    values = ["web", 3.0, "unknown", 12.5, "director"]
    lines = []
    for i in range(scale):
        reasons = [{"feature": FEATURES[rng.integers(len(FEATURES))],
                    "value": values[rng.integers(len(values))],
                    "contribution": round(float(rng.uniform(-1, 1)), 6),
                    "direction": "up" if rng.random() < 0.5 else "down"} for _ in range(3)]
        lines.append(f"{i}\t{json.dumps(reasons)}\n")
    return "".join(lines)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(scale: int, repeat: int) -> dict:
    text = reasons_rows(scale)
    best: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp), "bench_reasons") as url:
        engine = sa.create_engine(sqlalchemy_url(url))
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            cur = raw.cursor()
            for attempt in range(repeat):
                for kind in ("jsonb", "json"):
                    cur.execute(f"drop table if exists r_{kind}; create unlogged table "
                                f"r_{kind} (id bigint, reasons {kind} not null)")
                    raw.commit()

                    def copy_in(kind=kind):
                        with cur.copy(f"copy r_{kind} (id, reasons) from stdin") as copy:
                            copy.write(text)
                        raw.commit()

                    def copy_out(kind=kind):
                        with cur.copy(f"copy (select reasons from r_{kind}) to stdout") as copy:
                            for _ in copy:
                                pass

                    def fetch(kind=kind):
                        cur.execute(f"select reasons from r_{kind}")
                        cur.fetchall()

                    times = {"copy_in_s": timed(copy_in), "copy_out_s": timed(copy_out),
                             "fetch_decode_s": timed(fetch)}
                    mine = best.setdefault(kind, {})
                    for key, value in times.items():
                        mine[key] = min(mine.get(key, value), value)
                    print(f"run {attempt + 1} {kind}: " + ", ".join(
                        f"{k} {v:.3f}" for k, v in times.items()), file=sys.stderr)
        engine.dispose()
    value = scale / best["json"]["copy_in_s"]
    baseline = scale / best["jsonb"]["copy_in_s"]
    return {"bench": "lead_scores_reasons", "scale": scale, "value": round(value),
            "unit": "rows/s COPY in", "baseline": "the same COPY into jsonb",
            "baseline_value": round(baseline), "ratio": round(value / baseline, 2),
            **{f"{kind}_{k}": round(v, 3) for kind in ("json", "jsonb")
               for k, v in best[kind].items()},
            "peak_rss_mb": peak_rss_mb()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.lead_scores_reasons",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=200_000, help="rows of reasons")
    parser.add_argument("--repeat", type=int, default=3, help="runs, the best kept")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.scale, args.repeat)))


if __name__ == "__main__":
    main()
