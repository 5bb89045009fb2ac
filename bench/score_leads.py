"""Lead scoring end to end (read marts.lead_features, predict, explain with exact tree SHAP
values, write ml.lead_scores by COPY, measure drift into ml.model_drift) against a bare
`predict_proba` on the same in-memory matrix.

    python -m bench.score_leads [--scale N] [--train-scale M]

N open leads are generated into a fresh database (the embedded server in a temporary folder,
or a new database on DATABASE_URL's server, dropped afterwards), with M closed leads to train
on; training (leakage guard, calibrated gradient boosting, logistic-regression baseline, as
`salesops ml train` does minus MLflow) is timed too. The last line printed is the JSON
result, with the training figures added as `train_rows` and `train_s`.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from bench.database import peak_rss_mb, scratch_database
from ml.lead_scoring import features
from ml.lead_scoring.evaluate import fit_and_evaluate
from ml.lead_scoring.model import threads_for
from ml.lead_scoring.score import write_scores
from salesops.db import get_engine

MART_DDL = """
create table marts.lead_features (
    lead_id bigint primary key, created_at timestamptz not null, lead_source text,
    industry text, country text, title text, employees integer, is_free_email boolean,
    has_phone boolean, campaign_id bigint, touchpoints_before_creation integer,
    touchpoints_30d_after_creation integer, email_opens integer, email_clicks integer,
    form_fills integer, inbound_emails integer, is_converted boolean, is_closed boolean
)
"""
SOURCES = np.array(["referral", "event", "webinar", "web", "cold_call", "purchased_list"])
SOURCE_EFFECT = np.array([2.0, 1.0, 0.6, 0.2, -1.4, -1.8])
TITLES = np.array(["CEO", "VP of Sales", "Director, Marketing", "Sales Manager",
                   "Account Executive", "Software Engineer"])
TITLE_EFFECT = np.array([1.0, 0.9, 0.5, 0.1, -0.3, -0.7])


def leads(n: int, first_id: int, closed: bool, seed: int) -> pd.DataFrame:
    """Vectorised synthetic leads shaped like the mart (conversion known when `closed`)."""
    rng = np.random.default_rng(seed)
    source = rng.integers(0, len(SOURCES), n)
    title = rng.integers(0, len(TITLES), n)
    form_fills = rng.poisson(0.8, n)
    clicks = rng.binomial(rng.poisson(3, n), 0.3)
    employees = np.round(rng.lognormal(4, 1.5, n))
    logit = (-1.3 + SOURCE_EFFECT[source] + TITLE_EFFECT[title] + 0.8 * form_fills
             + 0.6 * clicks + np.where((employees >= 50) & (employees <= 1000), 0.8, -0.4))
    converted = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({
        "lead_id": np.arange(first_id, first_id + n),
        "created_at": pd.Timestamp("2024-01-01", tz="UTC")
        + pd.to_timedelta(np.sort(rng.uniform(0, 700, n)), unit="D"),
        "lead_source": SOURCES[source],
        "industry": rng.choice(["software", "retail", "finance"], n),
        "country": rng.choice(["US", "DE", "GB", "FR"], n), "title": TITLES[title],
        "employees": employees.astype(int), "is_free_email": rng.random(n) < 0.3,
        "has_phone": rng.random(n) < 0.6,
        "campaign_id": np.where(rng.random(n) < 0.4, rng.integers(1, 5, n), -1),
        "touchpoints_before_creation": rng.poisson(2, n),
        "touchpoints_30d_after_creation": rng.poisson(3, n),
        "email_opens": rng.poisson(3, n), "email_clicks": clicks, "form_fills": form_fills,
        "inbound_emails": rng.poisson(0.4, n),
        "is_converted": converted & closed, "is_closed": np.full(n, closed),
    })


def copy_frame(conn: sa.Connection, table: str, frame: pd.DataFrame) -> None:
    """COPY a DataFrame (CSV in memory, -1 campaign as null) into `table`."""
    buffer = io.StringIO()
    if "campaign_id" in frame.columns:
        frame = frame.assign(campaign_id=frame["campaign_id"].where(frame["campaign_id"] >= 0))
        frame["campaign_id"] = frame["campaign_id"].astype("Int64")
    frame.to_csv(buffer, index=False, header=False)
    buffer.seek(0)
    cols = ", ".join(frame.columns)
    with conn.connection.driver_connection.cursor() as cur, \
            cur.copy(f"copy {table} ({cols}) from stdin with (format csv)") as copy:
        while chunk := buffer.read(1 << 20):
            copy.write(chunk)


def run(url: str, scale: int, train_scale: int) -> dict:
    engine = get_engine(url)
    print(f"generating {train_scale} closed and {scale} open leads ...", file=sys.stderr)
    closed = leads(train_scale, 1, closed=True, seed=1)
    open_ = leads(scale, train_scale + 1, closed=False, seed=2)
    with engine.begin() as conn:
        conn.execute(sa.text("create schema if not exists marts"))
        conn.execute(sa.text(MART_DDL))
        for part in (closed, open_):
            copy_frame(conn, "app.leads", part[["lead_id", "title", "lead_source",
                                                "created_at"]].rename(
                columns={"lead_id": "id"}).assign(status="new"))
            copy_frame(conn, "marts.lead_features", part)
        conn.execute(sa.text("analyze marts.lead_features"))
    del closed, open_

    print("training ...", file=sys.stderr)
    start = time.perf_counter()
    ev = fit_and_evaluate(features.load_training(engine))
    train_s = time.perf_counter() - start
    print(f"trained on {len(ev.X_train)} leads in {train_s:.1f} s: {ev.metrics}",
          file=sys.stderr)

    print(f"scoring {scale} leads end to end ...", file=sys.stderr)
    start = time.perf_counter()
    result = write_scores(engine, ev.model, "bench", "bench", reference=ev.drift_reference)
    ours_s = time.perf_counter() - start

    X = features.build(features.load_open(engine))
    start = time.perf_counter()
    with threads_for(len(X)):
        ev.model.predict_proba(X)
    bare_s = time.perf_counter() - start
    engine.dispose()
    print(f"end to end: {result.written} leads in {ours_s:.1f} s; bare predict_proba: "
          f"{len(X)} rows in {bare_s:.2f} s", file=sys.stderr)
    value, baseline = result.written / ours_s, len(X) / bare_s
    return {"bench": "score_leads", "scale": scale, "value": round(value), "unit": "rows/s",
            "baseline": "bare predict_proba on the in-memory matrix",
            "baseline_value": round(baseline), "ratio": round(value / baseline, 4),
            "peak_rss_mb": peak_rss_mb(),
            "seconds": round(ours_s, 2), "drift_checked": result.drift.checked,
            "train_rows": len(ev.X_train),
            "train_s": round(train_s, 2)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.score_leads",
                                     description="End-to-end lead scoring vs predict_proba.")
    parser.add_argument("--scale", type=int, default=1_000_000, help="open leads to score")
    parser.add_argument("--train-scale", type=int, default=100_000,
                        help="closed leads to train on")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-score-") as tmp, \
            scratch_database(Path(tmp), "bench_score") as url:
        result = run(url, args.scale, args.train_scale)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
