"""Bulk load: Salesforce Contact + Lead export through the connector and `load_batch`,
against a bare COPY of the same CSV files into unlogged tables with the same columns.

    python -m bench.load [--scale N] [--repeat R]

Runs against the embedded server in a temporary folder unless DATABASE_URL is set (then in a
fresh database on that server, dropped afterwards). Each side runs R times on emptied tables;
the best time counts. The last line printed is the JSON result.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from bench.database import peak_rss_mb, scratch_database
from connectors.salesforce_export import read_export
from salesops.db import get_engine
from salesops.loading import load_batch

OBJECTS = ("Contact", "Lead")


def ours(engine: sa.Engine, export: Path) -> int:
    """The real path: read the export, load each batch."""
    rows = 0
    for batch in read_export(export, objects=OBJECTS):
        result = load_batch(engine, batch.source, batch.entity, batch.origin, batch.records,
                            batch.rejects)
        rows += result.rows_in
    return rows


def bare_copy(engine: sa.Engine, export: Path) -> int:
    """The floor: PostgreSQL's own CSV COPY of the files, no parsing in Python."""
    rows = 0
    with engine.begin() as conn:
        cur = conn.connection.driver_connection.cursor()
        for name in OBJECTS:
            file = export / f"{name}.csv"
            sql = f"copy bench_{name.lower()} from stdin with (format csv, header true)"
            with file.open("rb") as stream, cur.copy(sql) as copy:
                while chunk := stream.read(1 << 20):
                    copy.write(chunk)
            rows += cur.rowcount
    return rows


def _best(runs: int, reset: Callable[[], None], work: Callable[[], int]) -> tuple[float, int]:
    best, rows = float("inf"), 0
    for _ in range(runs):
        reset()
        start = time.perf_counter()
        rows = work()
        best = min(best, time.perf_counter() - start)
    return best, rows


def run(url: str, scale: int, repeat: int, workdir: Path) -> dict:
    from salesops.demo import generate

    generate(workdir / "demo", scale, seed=1)
    export = workdir / "demo" / "salesforce"
    engine = get_engine(url)
    with engine.begin() as conn:
        for obj in OBJECTS:
            with (export / f"{obj}.csv").open(encoding="utf-8-sig", newline="") as f:
                header = next(csv.reader(f))
            columns = ", ".join(f'"{c}" text' for c in header)
            conn.execute(sa.text(f"create unlogged table bench_{obj.lower()} ({columns})"))

    def truncate(tables: str) -> Callable[[], None]:
        def reset() -> None:
            with engine.begin() as conn:
                conn.execute(sa.text(f"truncate {tables} cascade"))
        return reset

    ours_s, rows = _best(repeat, truncate("raw.salesforce__contact, raw.salesforce__lead, "
                                          "ops.rejected_rows, ops.load_batches"),
                         lambda: ours(engine, export))
    base_s, base_rows = _best(repeat, truncate("bench_contact, bench_lead"),
                              lambda: bare_copy(engine, export))
    engine.dispose()
    print(f"load_batch: {rows} rows in {ours_s:.3f} s; bare COPY: {base_rows} rows in "
          f"{base_s:.3f} s (best of {repeat})", file=sys.stderr)
    value, baseline = rows / ours_s, base_rows / base_s
    return {"bench": "load", "scale": scale, "value": round(value), "unit": "rows/s",
            "baseline": "bare COPY", "baseline_value": round(baseline),
            "ratio": round(value / baseline, 3),
            "peak_rss_mb": peak_rss_mb()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load",
                                     description="Bulk load vs a bare COPY of the same files.")
    parser.add_argument("--scale", type=int, default=20_000, help="people in the demo data")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side; the best counts")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp, \
            scratch_database(Path(tmp), "bench_load") as url:
        result = run(url, args.scale, args.repeat, Path(tmp))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
