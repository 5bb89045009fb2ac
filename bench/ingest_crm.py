"""Salesforce-export ingestion: N generated contacts as a weekly-export Contact.csv, read by
`connectors.salesforce_export` and loaded into `raw.salesforce__contact` by
`orchestration.ingestion.load_batches` (what `salesops ingest salesforce` and the Dagster
asset run: each batch read and hashed by Polars, then COPYed into the raw table's text
columns with its lineage in front, while the next batch is read), against a
bare COPY of the same CSV into an identical table in the same run: the raw table's own
definition (its columns, primary key, BRIN index and identity), where PostgreSQL puts the
file's Id into `source_key` and the lineage a COPY cannot compute comes from constant
defaults (batch id, source, content hash: the file's keys keep the primary key unique).
That is the issue's baseline: what storing the file in that table costs the database,
so the ratio is what our reading, hashing, de-duplication and batch bookkeeping cost on
top. Also printed, as before: a bare
COPY into a plain table of the CSV's columns (no lineage, no key), and
`pandas.DataFrame.to_sql` of the same file, the naive baseline.

    python -m bench.ingest_crm [--scale N] [--repeat R] [--no-pandas] [--careful]

Each side runs R times on emptied tables, after one untimed run of ours that warms the server
up (see `run`); the best time counts. Peak RSS is taken after
our path and before the baselines, so it is our path's (streaming: one batch in memory).
Also printed (stderr): the raw table's write floor, an INSERT ... SELECT of the rows our
path stored into an identical table (same columns and indexes: what storing the raw
rows costs whoever parses and hashes them), and with `--careful` the per-record path
(Python's csv, orjson and hashlib, `load_batch`) that a batch falls back to.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from bench.database import peak_rss_mb, scratch_database
from bench.people import write_contact_csv
from connectors.salesforce_export import read_export
from orchestration.ingestion import load_batches
from salesops.db import get_engine
from salesops.loading import load_batch


def ours(engine: sa.Engine, export: Path) -> int:
    """The real path: read the export, load each batch."""
    return load_batches(engine, read_export(export, objects=["Contact"]))["contact"].rows_loaded


def careful(engine: sa.Engine, export: Path) -> int:
    """The per-record path: the same batches parsed, serialised and hashed in Python."""
    rows = 0
    for batch in read_export(export, objects=["Contact"]):
        rows += load_batch(engine, batch.source, batch.entity, batch.origin, batch.records,
                           batch.rejects).rows_loaded
    return rows


def raw_write_floor(engine: sa.Engine) -> int:
    """The stored raw rows written again into an identical table, in one statement."""
    with engine.begin() as conn:
        columns = ", ".join(f'"{c}"' for c in conn.execute(sa.text(
            "select attname from pg_attribute where attrelid = 'bench_raw'::regclass "
            "and attnum > 0 and not attisdropped and attname <> 'id' order by attnum")
        ).scalars())
        return conn.execute(sa.text(
            f"insert into bench_raw ({columns}) select {columns} "
            "from raw.salesforce__contact")).rowcount


def bare_copy(engine: sa.Engine, file: Path, target: str = "bench_contact") -> int:
    """PostgreSQL's own CSV COPY of the file, no parsing in Python."""
    with engine.begin() as conn:
        cur = conn.connection.driver_connection.cursor()
        with file.open("rb") as stream, cur.copy(
                f"copy {target} from stdin with (format csv, header true)") as copy:
            while chunk := stream.read(1 << 20):
                copy.write(chunk)
        return cur.rowcount


def pandas_to_sql(engine: sa.Engine, file: Path) -> int:
    """The naive way: pandas reads the CSV (in chunks, to bound memory) and inserts it."""
    rows = 0
    with engine.begin() as conn:
        for frame in pd.read_csv(file, dtype=str, keep_default_na=False, chunksize=50_000):
            frame.to_sql("bench_contact_pandas", conn, if_exists="append", index=False)
            rows += len(frame)
    return rows


def best(runs: int, reset: Callable[[], None], work: Callable[[], int]) -> tuple[float, int]:
    """The fastest of `runs` timed runs, each after `reset`."""
    fastest, rows = float("inf"), 0
    for _ in range(runs):
        reset()
        start = time.perf_counter()
        rows = work()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest, rows


def run(url: str, export: Path, scale: int, repeat: int, with_pandas: bool,
        with_careful: bool) -> dict:
    file = export / "Contact.csv"
    engine = get_engine(url)
    with file.open(encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    columns = ", ".join(f'"{c}" text' for c in header)
    with engine.begin() as conn:
        conn.execute(sa.text(f"create table bench_contact ({columns})"))
        conn.execute(sa.text(f"create table bench_contact_pandas ({columns})"))

    def truncate(tables: str) -> Callable[[], None]:
        def reset() -> None:
            with engine.begin() as conn:
                conn.execute(sa.text(f"truncate {tables} cascade"))
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("checkpoint"))
        return reset

    reset_raw = truncate("raw.salesforce__contact, ops.load_batches")
    # Untimed, first: a first load on a new server pays for creating its WAL files, which
    # every later run (ours or a baseline) recycles; this one also gives the raw table the
    # file's columns, which the identical table copies.
    reset_raw()
    ours(engine, export)
    ours_s, rows = best(repeat, reset_raw, lambda: ours(engine, export))
    rss = peak_rss_mb()
    print(f"ours: {rows} rows in {ours_s:.2f} s", file=sys.stderr)
    with engine.begin() as conn:  # the raw table as our path left it: a column per field
        conn.execute(sa.text("create table bench_raw "
                             "(like raw.salesforce__contact including all)"))
        conn.execute(sa.text("create table bench_identical "
                             "(like raw.salesforce__contact including all)"))
        conn.execute(sa.text(  # constants: the file's keys keep the primary key unique
            f"alter table bench_identical alter batch_id set default '{uuid.uuid4()}', "
            "alter source set default 'salesforce', "
            f"alter content_hash set default '{uuid.uuid4()}'"))
    floor_s, floor_rows = best(repeat, truncate("bench_raw"), lambda: raw_write_floor(engine))
    print(f"raw table write floor: {floor_rows} rows in {floor_s:.2f} s "
          f"({floor_rows / floor_s:,.0f} rows/s)", file=sys.stderr)
    # the same COPY of the file, its Id into source_key
    into = "bench_identical ({})".format(
        ", ".join('"source_key"' if c == "Id" else f'"{c}"' for c in header))
    copy_s, copy_rows = best(repeat, truncate("bench_identical"),
                             lambda: bare_copy(engine, file, into))
    print(f"bare COPY into an identical table: {copy_rows} rows in {copy_s:.2f} s "
          f"({copy_rows / copy_s:,.0f} rows/s)", file=sys.stderr)
    plain_s, plain_rows = best(repeat, truncate("bench_contact"), lambda: bare_copy(engine, file))
    print(f"bare COPY into a plain table of the CSV's columns: {plain_rows} rows in "
          f"{plain_s:.2f} s ({plain_rows / plain_s:,.0f} rows/s, ours "
          f"{rows / ours_s / (plain_rows / plain_s):.3f} of it)", file=sys.stderr)
    if with_pandas:
        pd_s, pd_rows = best(1, truncate("bench_contact_pandas"),
                             lambda: pandas_to_sql(engine, file))
        print(f"pandas to_sql: {pd_rows} rows in {pd_s:.2f} s "
              f"({pd_rows / pd_s:,.0f} rows/s, ours {rows / ours_s / (pd_rows / pd_s):.1f}x)",
              file=sys.stderr)
    if with_careful:
        c_s, c_rows = best(1, truncate("raw.salesforce__contact, ops.load_batches"),
                           lambda: careful(engine, export))
        print(f"per-record path: {c_rows} rows in {c_s:.2f} s ({c_rows / c_s:,.0f} rows/s, "
              f"ours {rows / ours_s / (c_rows / c_s):.1f}x)", file=sys.stderr)
    engine.dispose()
    value, baseline, plain = rows / ours_s, copy_rows / copy_s, plain_rows / plain_s
    return {"bench": "ingest_crm", "scale": scale, "value": round(value), "unit": "rows/s",
            "baseline": "bare COPY into an identical table", "baseline_value": round(baseline),
            "ratio": round(value / baseline, 3), "peak_rss_mb": rss,
            "plain_copy_value": round(plain), "plain_copy_ratio": round(value / plain, 3)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_crm",
                                     description="Salesforce Contact.csv into raw vs bare COPY.")
    parser.add_argument("--scale", type=int, default=200_000, help="contacts (default 200,000)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per side; the best counts")
    parser.add_argument("--no-pandas", dest="pandas", action="store_false",
                        help="skip the pandas to_sql baseline")
    parser.add_argument("--careful", action="store_true",
                        help="also time the per-record path (Python csv + load_batch)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-crm-") as tmp:
        export = Path(tmp) / "export"
        export.mkdir()
        print(f"generating {args.scale:,} contacts ...", file=sys.stderr)
        write_contact_csv(export / "Contact.csv", args.scale, seed=1)
        with scratch_database(Path(tmp), "bench_ingest_crm") as url:
            result = run(url, export, args.scale, args.repeat, args.pandas, args.careful)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
