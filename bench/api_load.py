"""API load: lead capture and contact search through the real API under uvicorn on
loopback, against a minimal FastAPI endpoint doing one INSERT, on the same database in
the same run.

    python -m bench.api_load [--scale N] [--seconds S] [--concurrency C] [--rate R]
                             [--search-rate Q] [--workers W] [--only search]

`--scale` contacts are loaded first (set-based, 95 x 89 real first and last names, so a
name repeats about N / 8,455 times), owned in turn by 40 reps in 5 teams. Each workload
then runs S seconds after a short warm-up. Throughput is measured closed loop (C
clients, each sending its next request when the last is answered): the one-INSERT
endpoint, lead capture and contact search. Lead capture is also driven open loop at R
requests/s (arrivals on a fixed schedule, latency counted from the scheduled time, so
queueing is not hidden): the issue's "p99 at 200 requests/s". A rep's search (their
team's fifth of the contacts) is driven open loop at Q requests/s, and its plan printed
(EXPLAIN ANALYZE). Both servers run W uvicorn workers, in their own processes. Prints
p50/p95/p99 and throughput per workload; the last line is the JSON result: lead capture
throughput against the one-INSERT endpoint's.

`--only search` runs the searches alone: the one-INSERT endpoint open loop at the rep's
rate Q (the baseline), the admin's search closed loop, the rep's open loop and its plan;
the JSON's value is then the rep's search p95 against the one-INSERT endpoint's p95.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.orm import Session

from bench.database import scratch_database
from salesops.db import get_engine
from salesops.domain import contacts, records
from salesops.domain.audit import Actor
from salesops.domain.users import create_user, get_principal
from salesops.models import Team, User
from salesops.models.crm import remember_names


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words("James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David "
         "Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Nancy "
         "Daniel Lisa Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven "
         "Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Dorothy Kevin Carol Brian "
         "Amanda George Melissa Edward Deborah Ronald Stephanie Timothy Rebecca Jason Sharon "
         "Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Shirley Eric Angela "
         "Jonathan Helen Stephen Anna Larry Brenda Justin Pamela Scott Nicole Brandon Emma "
         "Benjamin Samantha Samuel Katherine Gregory Christine Frank Debra Alexander Rachel "
         "Raymond Catherine Patrick Carolyn Jack")
LAST = _words("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
        "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
        "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright "
        "Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell "
        "Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards "
        "Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan "
        "Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson "
        "Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes")
PASSWORD = "bench password 1"
REPS, TEAMS = 40, 5  # a rep reads their team's 8 reps' contacts: a fifth of them


def _typo(word: str, rng: random.Random) -> str:
    """Swap two neighbouring letters, as people do."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def seed(url: str, scale: int) -> None:
    """The contacts, owned in turn by REPS reps in TEAMS teams; the admin; a table for the
    baseline."""
    engine = get_engine(url)
    with Session(engine) as session, session.begin():
        create_user(session, "bench@example.com", "Bench Admin", PASSWORD, "admin")
        teams = [session.execute(sa.insert(Team).values(name=f"Bench team {t}")
                                 .returning(Team.id)).scalar_one() for t in range(TEAMS)]
        owners = [create_user(session, f"rep{r}@example.com", f"Rep {r}",
                              PASSWORD if r == 0 else None, "sales_rep",
                              teams[r % TEAMS]).id for r in range(REPS)]
    with engine.begin() as conn:
        conn.execute(sa.text("""
            insert into app.contacts (first_name, last_name, email, email_normalized, source,
                                      owner_id)
            select f[1 + i % cardinality(f)], l[1 + (i / cardinality(f)) % cardinality(l)],
                   'p' || i || '@bench.example', 'p' || i || '@bench.example', 'bench',
                   o[1 + i % cardinality(o)]
            from generate_series(1, :n) i, (select cast(:first as text[]) f,
                                                   cast(:last as text[]) l,
                                                   cast(:owners as bigint[]) o) names"""),
                     {"n": scale, "first": list(FIRST), "last": list(LAST), "owners": owners})
        conn.execute(sa.text(remember_names("app.contacts")))  # as a bulk writer does
        conn.execute(sa.text("create unlogged table bench_inserts (id bigint generated "
                             "always as identity primary key, email text, payload jsonb, "
                             "created_at timestamptz default now())"))
        conn.execute(sa.text("analyze app.contacts"))
    engine.dispose()


def explain_search(url: str, q: str) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the list query the API runs for a rep's search `q`
    (taken from the driver as the domain service sends it)."""
    engine = get_engine(url)
    sent: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append((statement, parameters))

    with Session(engine) as session, session.begin():
        rep_id = session.scalar(sa.select(User.id).where(User.email == "rep0@example.com"))
        event.listen(engine, "before_cursor_execute", grab)
        try:
            records.list_records(session, Actor(get_principal(session, rep_id)),
                                 contacts.CONTACTS, q=q, limit=20)
        finally:
            event.remove(engine, "before_cursor_execute", grab)
        statement, params = next((st, p) for st, p in reversed(sent) if "<->" in st)
        return session.connection().exec_driver_sql(
            "explain (analyze, buffers) " + statement, params).scalars().all()


class InsertBody(BaseModel):
    email: str
    payload: dict = {}


def baseline_app() -> FastAPI:
    """The baseline: one POST endpoint doing one INSERT, in the same framework and pool."""
    engine = get_engine(os.environ["DATABASE_URL"])
    app = FastAPI()

    @app.post("/insert", status_code=201)
    def insert(body: InsertBody) -> dict:
        with engine.begin() as conn:
            new_id = conn.execute(sa.text(
                "insert into bench_inserts (email, payload) values (:e, cast(:p as jsonb)) "
                "returning id"), {"e": body.email, "p": json.dumps(body.payload)}).scalar()
        return {"id": new_id}

    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(factory: str, env: dict[str, str], processes: list[subprocess.Popen],
           workers: int) -> tuple[subprocess.Popen, str]:
    """Start uvicorn on a free loopback port (added to `processes`, to stop later)."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log",
         "--workers", str(workers)],
        env={**os.environ, **env})
    processes.append(process)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/openapi.json" if "baseline" in factory
                         else f"{base}/api/v1/health", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"{factory} did not start (exit {process.returncode})")
        time.sleep(0.2)
    raise SystemExit(f"{factory} did not answer within 60 s")


async def _drive(make_request, seconds: float, concurrency: int, warmup: float = 1.0
                 ) -> dict:
    latencies: list[float] = []
    errors = 0

    async def worker(client: httpx.AsyncClient, n: int) -> None:
        nonlocal errors
        rng = random.Random(n)
        start = time.perf_counter()
        while (now := time.perf_counter()) - start < warmup + seconds:
            method, url, kwargs = make_request(rng)
            response = await client.request(method, url, **kwargs)
            took = time.perf_counter() - now
            if now - start >= warmup:
                if response.status_code >= 400:
                    errors += 1
                latencies.append(took)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await asyncio.gather(*(worker(client, n) for n in range(concurrency)))
    return _summary(latencies, errors, seconds)


async def _drive_at_rate(make_request, seconds: float, rate: float, warmup: float = 1.0,
                         senders: int = 64, grace: float = 15.0) -> dict:
    """Open loop: request i is due at start + i / rate whatever the answers so far, sent
    by the first free of `senders` clients; its latency runs from when it was due, so a
    slow server makes later requests late too (no coordinated omission). Requests not
    sent `grace` seconds after the last was due count as errors, with the time they had
    waited as their latency: an overloaded server ends the run instead of queueing."""
    latencies: list[float] = []
    errors = 0
    total = int((warmup + seconds) * rate)
    start = time.perf_counter() + 0.1
    give_up = start + warmup + seconds + grace
    slots = iter(range(total))

    async def sender(client: httpx.AsyncClient, n: int) -> None:
        nonlocal errors
        rng = random.Random(n)
        for i in slots:
            due = start + i / rate
            if time.perf_counter() > give_up:
                failed = True
            else:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                method, url, kwargs = make_request(rng)
                try:
                    failed = (await client.request(method, url, **kwargs)).status_code >= 400
                except httpx.HTTPError:
                    failed = True
            if i >= warmup * rate:
                errors += failed
                latencies.append(time.perf_counter() - due)

    limits = httpx.Limits(max_connections=senders, max_keepalive_connections=senders)
    async with httpx.AsyncClient(timeout=grace, limits=limits) as client:
        await asyncio.gather(*(sender(client, n) for n in range(senders)))
    return {**_summary(latencies, errors, seconds), "offered_rate": rate}


def _summary(latencies: list[float], errors: int, seconds: float) -> dict:
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {"requests": len(latencies), "errors": errors,
            "throughput": round(len(latencies) / seconds, 1),
            "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99)}


def run(url: str, redis_url: str, scale: int, seconds: float, concurrency: int,
        workdir: Path, rate: float = 200, workers: int = 2, search_rate: float = 20,
        only_search: bool = False) -> dict:
    processes = []
    try:
        started = time.perf_counter()
        seed(url, scale)
        print(f"seeded {scale:,} contacts in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
        env = {"DATABASE_URL": url, "REDIS_URL": redis_url,
               "SALESOPS_DATA_DIR": str(workdir / "data"),
               "SALESOPS_FORM_RATE_LIMIT": "1000000000",
               "SALESOPS_USER_RATE_LIMIT": "1000000000"}
        api, api_base = _serve("api.main:create_app", env, processes, workers)
        base_url = _serve("bench.api_load:baseline_app", env, processes, workers)[1]
        token = httpx.post(f"{api_base}/api/v1/auth/login", json={
            "email": "bench@example.com", "password": PASSWORD}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        rep_token = httpx.post(f"{api_base}/api/v1/auth/login", json={
            "email": "rep0@example.com", "password": PASSWORD}).json()["access_token"]

        def one_insert(rng):
            return "POST", f"{base_url}/insert", {"json": {
                "email": f"{uuid.uuid4().hex}@bench.example", "payload": {"utm": "x"}}}

        def capture(rng):
            known = rng.random() < 0.5  # half of them existing contacts
            email = (f"p{rng.randrange(1, scale)}@bench.example" if known
                     else f"{uuid.uuid4().hex}@new.example")
            return "POST", f"{api_base}/api/v1/forms/bench/submissions", {"json": {
                "submission_id": uuid.uuid4().hex,
                "fields": {"email": email, "first_name": rng.choice(FIRST),
                           "last_name": rng.choice(LAST), "company": "Bench Inc"},
                "utm": {"source": "google", "medium": "cpc"}}}

        def search(rng, headers=auth):
            q = f"{_typo(rng.choice(FIRST), rng)} {_typo(rng.choice(LAST), rng)}"
            return "GET", f"{api_base}/api/v1/contacts", {"params": {"q": q, "limit": 20},
                                                         "headers": headers}

        def rep_search(rng):
            return search(rng, {"Authorization": f"Bearer {rep_token}"})

        results = {}
        if only_search:
            results["one_insert_at_rate"] = asyncio.run(_drive_at_rate(
                one_insert, seconds, search_rate, senders=16))
            print(f"one_insert at {search_rate:g} req/s: {results['one_insert_at_rate']}",
                  file=sys.stderr)
        closed = (("contact_search", search),) if only_search else (
            ("one_insert", one_insert), ("lead_capture", capture), ("contact_search", search))
        for label, make in closed:
            results[label] = asyncio.run(_drive(make, seconds, concurrency))
            print(f"{label}: {results[label]}", file=sys.stderr)
        results["rep_search_at_rate"] = asyncio.run(_drive_at_rate(rep_search, seconds,
                                                                   search_rate, senders=16))
        print(f"contact_search as a rep at {search_rate:g} req/s: "
              f"{results['rep_search_at_rate']}", file=sys.stderr)
        if not only_search:
            results["lead_capture_at_rate"] = asyncio.run(_drive_at_rate(capture, seconds,
                                                                         rate))
            print(f"lead_capture at {rate:g} req/s: {results['lead_capture_at_rate']}",
                  file=sys.stderr)
        plan = explain_search(url, "Jmaes Smiht")
        print("EXPLAIN ANALYZE of a rep's search for 'Jmaes Smiht':\n  " + "\n  ".join(plan),
              file=sys.stderr)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        get_engine(url).dispose()
    rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
              resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    if only_search:
        value = results["rep_search_at_rate"]["p95_ms"]
        baseline = results["one_insert_at_rate"]["p95_ms"]
        head = {"value": value, "unit": f"ms (p95 of a rep's search at {search_rate:g}/s)",
                "baseline": f"FastAPI endpoint doing one INSERT, p95 at {search_rate:g}/s"}
    else:
        value = results["lead_capture"]["throughput"]
        baseline = results["one_insert"]["throughput"]
        head = {"value": value, "unit": "req/s",
                "baseline": "FastAPI endpoint doing one INSERT"}
    return {"bench": "api_load", "scale": scale, **head, "baseline_value": baseline,
            "ratio": round(value / baseline, 3), "peak_rss_mb": round(rss / 1024, 1),
            "concurrency": concurrency, "seconds": seconds, "workers": workers,
            **results, "search_plan_ms": float(plan[-1].split()[-2])}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api_load", description=__doc__
                                     .split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1_000_000, help="contacts loaded first")
    parser.add_argument("--seconds", type=float, default=20, help="per workload")
    parser.add_argument("--concurrency", type=int, default=8, help="clients at once")
    parser.add_argument("--rate", type=float, default=200,
                        help="lead captures per second offered in the open-loop run")
    parser.add_argument("--search-rate", type=float, default=20,
                        help="a rep's searches per second offered in the open-loop run")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per server")
    parser.add_argument("--only", choices=["search"],
                        help="run only these workloads (search: the searches, against the "
                        "one-INSERT endpoint at the rep's rate)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        workdir = Path(tmp)
        if not (redis_url := os.environ.get("REDIS_URL")):
            from salesops.embedded import start_redis
            redis_url = start_redis(workdir / "redis")
        with scratch_database(workdir, "bench_api") as url:
            result = run(url, redis_url, args.scale, args.seconds, args.concurrency, workdir,
                         args.rate, args.workers, args.search_rate,
                         only_search=args.only == "search")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
