"""Lead assignment, set-based (what the merge does) against the same leads assigned one at
a time (what capture does per lead, each in its own transaction), same rules, same run.

Rules: a territory per team (load balanced, cap of open leads), then a round-robin
catch-all over every team. Uses the embedded PostgreSQL in a temporary folder unless
DATABASE_URL is set (then a fresh database on that server, dropped afterwards). The last
line printed is the JSON result.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bench.database import peak_rss_mb, scratch_database
from salesops.db import get_engine
from salesops.domain import assignment
from salesops.domain.users import ensure_roles

TEAMS = ("US", "DE", "GB", "FR", "ES")
REPS_PER_TEAM = 10


def _seed(engine: sa.Engine, scale: int) -> None:
    with Session(engine) as session, session.begin():
        ensure_roles(session)
        session.execute(sa.text("insert into app.teams (name) select 'team ' || c "
                                "from unnest(cast(:c as text[])) c"), {"c": list(TEAMS)})
        session.execute(sa.text("""
            insert into app.users (email, full_name, role_id, team_id)
            select 'rep' || t.id || '-' || i || '@example.com', 'Rep', ro.id, t.id
            from app.teams t, generate_series(1, :n) i, app.roles ro
            where ro.name = 'sales_rep'"""), {"n": REPS_PER_TEAM})
        for position, country in enumerate(TEAMS):
            team_id = session.scalar(sa.text("select id from app.teams where name = :n"),
                                     {"n": f"team {country}"})
            assignment.save_rule(session, f"territory {country}", strategy="load_balanced",
                                 countries=[country], team_id=team_id, position=position,
                                 max_open_leads=max(1, scale // (len(TEAMS) * REPS_PER_TEAM)))
        session.execute(sa.text(
            "insert into app.assignment_rules (name, position, strategy, user_ids) "
            "select 'everyone', 99, 'round_robin', array_agg(id) from app.users"))
        session.execute(sa.text("""
            insert into app.leads (source, source_key, custom_fields)
            select 'bench', 'l' || i, jsonb_build_object('country',
                   (array['US','DE','GB','FR','ES','JP','BR'])[1 + i % 7])
            from generate_series(1, :n) i"""), {"n": scale})
        session.execute(sa.text("analyze app.leads"))


def _reset(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for sql in ("update app.leads set owner_id = null", "truncate app.lead_assignments",
                    "update app.assignment_rules set last_user_id = null"):
            conn.execute(sa.text(sql))


def _owners(engine: sa.Engine) -> list[tuple[int, int | None]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "select id, owner_id from app.leads order by id"))]


def run(url: str, scale: int) -> dict:
    engine = get_engine(url)
    _seed(engine, scale)
    print(f"{scale} leads: set-based...", file=sys.stderr)
    start = time.perf_counter()
    report = assignment.assign_all(engine)
    ours_s = time.perf_counter() - start
    _reset(engine)
    print(f"set-based {report} in {ours_s:.2f} s; now one lead at a time...",
          file=sys.stderr)
    ids = [lead_id for lead_id, _ in _owners(engine)]
    start = time.perf_counter()
    for done, lead_id in enumerate(ids, 1):
        with engine.begin() as conn:
            assignment.assign(conn, [lead_id])
        if done % 1000 == 0:
            print(f"  {done}/{len(ids)}", file=sys.stderr)
    base_s = time.perf_counter() - start
    placed = sum(1 for _, owner in _owners(engine) if owner)
    engine.dispose()
    print(f"set-based {ours_s:.2f} s, per lead {base_s:.2f} s ({placed} placed; the order "
          "differs, so caps and loads may fall differently)", file=sys.stderr)
    value, baseline = scale / ours_s, scale / base_s
    return {"bench": "lead_assignment", "scale": scale, "value": round(value, 1),
            "unit": "leads/s", "baseline": "one lead per transaction (capture's path)",
            "baseline_value": round(baseline, 1), "ratio": round(value / baseline, 2),
            "peak_rss_mb": peak_rss_mb()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.lead_assignment",
                                     description="Set-based lead assignment vs one at a time.")
    parser.add_argument("--scale", type=int, default=5_000, help="leads")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-assign-") as tmp, \
            scratch_database(Path(tmp), "bench_assign") as url:
        result = run(url, args.scale)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
