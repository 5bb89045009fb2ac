"""API load: lead capture and contact search through the real API under uvicorn on
loopback, against a minimal FastAPI endpoint doing one INSERT, on the same database in
the same run.

    python -m bench.api_load [--scale N] [--seconds S] [--concurrency C] [--rate R]
                             [--also-rates R2,R3] [--search-rate Q] [--workers W]
                             [--workloads A,B,...] [--compare-with DIR] [--rounds K]

`--scale` contacts are loaded first (set-based, 95 x 89 real first and last names, so a
name repeats about N / 8,455 times), owned in turn by 40 reps in 5 teams, then vacuumed,
checkpointed and synced to disk (a table in service). Each workload then runs S seconds
after a short warm-up. Throughput is measured closed loop (C clients, each sending its
next request when the last is answered): the one-INSERT endpoint, lead capture and contact
search. Lead capture and the one-INSERT endpoint are also driven open loop at R requests/s
(arrivals on a fixed schedule, latency counted from the scheduled time, so queueing is not
hidden): the issue's "p99 at 200 requests/s", and whether the generator itself can offer
that rate (and each of `--also-rates`). A rep's search (their team's fifth of the
contacts) is driven open loop at Q requests/s, and its plan printed (EXPLAIN ANALYZE).
Both servers run W uvicorn workers, in their own processes; each workload reports the
server's CPU time per answered request and its database backends' (on a local server).
`--workloads` picks some of them; `--compare-with` serves another checkout's API too (e.g.
the code before a change) and runs every lead-capture workload against both, alternately,
`--rounds` times. Prints p50/p95/p99 and throughput per workload; the last line is the
JSON result: lead capture throughput against the one-INSERT endpoint's. Without lead
capture (e.g. `--workloads one_insert_at_rate,contact_search,rep_search_at_rate --rate
20`), it is a rep's search p95 against the one-INSERT endpoint's p95 at that rate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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

import aiohttp
import httpx
import psutil
import sqlalchemy as sa
import uvloop
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
        conn.execute(sa.text("create unlogged table bench_inserts (id bigint generated "
                             "always as identity primary key, email text, payload jsonb, "
                             "created_at timestamptz default now())"))
    # A table of a million contacts in service has been vacuumed, checkpointed and written
    # to disk long since: without this, the bulk insert's first autovacuum, its checkpoint
    # and the kernel's writeback of its pages (seconds of single INSERTs waiting on I/O)
    # run during the workloads, and their stalls are the p99.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("vacuum (analyze) app.contacts"))
        conn.execute(sa.text("checkpoint"))
    engine.dispose()
    os.sync()


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
           workers: int, tree: Path | None = None) -> tuple[subprocess.Popen, str]:
    """Start uvicorn on a free loopback port (added to `processes`, to stop later), with
    the code of `tree` (another checkout of the project) when given."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log",
         "--workers", str(workers)],
        env={**os.environ, **env, **({"PYTHONPATH": str(tree)} if tree else {})},
        cwd=tree)
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


async def _send(client: aiohttp.ClientSession, method: str, url: str, kwargs: dict) -> int:
    async with client.request(method, url, **kwargs) as response:
        await response.read()
        return response.status


def _client(connections: int, timeout: float) -> aiohttp.ClientSession:
    """The load generator's HTTP client: aiohttp (C parser, keep-alive) on uvloop, a
    fraction of httpx's CPU per request, so the generator leaves the server its core."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections, force_close=False),
        timeout=aiohttp.ClientTimeout(total=timeout))


async def _drive(make_request, seconds: float, concurrency: int, warmup: float = 1.0
                 ) -> dict:
    latencies: list[float] = []
    errors = 0

    async def worker(client: aiohttp.ClientSession, n: int) -> None:
        nonlocal errors
        rng = random.Random(n)
        start = time.perf_counter()
        while (now := time.perf_counter()) - start < warmup + seconds:
            status = await _send(client, *make_request(rng))
            took = time.perf_counter() - now
            if now - start >= warmup:
                errors += status >= 400
                latencies.append(took)

    async with _client(concurrency, 30) as client:
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

    async def sender(client: aiohttp.ClientSession, n: int) -> None:
        nonlocal errors
        rng = random.Random(n)
        for i in slots:
            due = start + i / rate
            if time.perf_counter() > give_up:
                failed = True
            else:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                try:
                    failed = await _send(client, *make_request(rng)) >= 400
                except (aiohttp.ClientError, TimeoutError):
                    failed = True
            if i >= warmup * rate:
                errors += failed
                latencies.append(time.perf_counter() - due)

    async with _client(senders, grace) as client:
        await asyncio.gather(*(sender(client, n) for n in range(senders)))
    return {**_summary(latencies, errors, seconds), "offered_rate": rate}


def _summary(latencies: list[float], errors: int, seconds: float) -> dict:
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {"requests": len(latencies), "errors": errors,
            "throughput": round(len(latencies) / seconds, 1),
            "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99)}


def _cpu_seconds(process: subprocess.Popen) -> float:
    """CPU time used so far by a server and its worker processes."""
    parent = psutil.Process(process.pid)
    return sum(sum(p.cpu_times()[:2]) for p in (parent, *parent.children(recursive=True)))


def _db_cpu_seconds(url: str) -> dict[int, float]:
    """CPU time used so far by each PostgreSQL backend serving the bench's database (on
    this machine; none when the server is elsewhere). Workloads run one at a time, so the
    difference over a workload is that workload's database CPU (the backends of idle
    servers use next to none; background writers are left out)."""
    with get_engine(url).connect() as conn:
        pids = conn.execute(sa.text(
            "select pid from pg_stat_activity where datname = current_database() "
            "and pid <> pg_backend_pid()")).scalars().all()
    used = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):  # gone, or another machine's
            used[pid] = sum(psutil.Process(pid).cpu_times()[:2])
    return used


WORKLOADS = ("one_insert", "lead_capture", "contact_search", "rep_search_at_rate",
             "one_insert_at_rate", "lead_capture_at_rate")


def run(url: str, redis_url: str, scale: int, seconds: float, concurrency: int,
        workdir: Path, rate: float = 200, workers: int = 2, search_rate: float = 20,
        workloads: tuple[str, ...] = WORKLOADS, compare_with: Path | None = None,
        rounds: int = 1, also_rates: tuple[float, ...] = ()) -> dict:
    """The chosen workloads, `rounds` times. With `compare_with`, every lead-capture
    workload also runs against that checkout's API (`..._compared`), right before ours in
    odd rounds and right after it in even ones, so both meet the same machine load."""
    processes: list[subprocess.Popen] = []
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
        baseline, base_url = _serve("bench.api_load:baseline_app", env, processes, workers)
        compared = (_serve("api.main:create_app", env, processes, workers, compare_with)
                    if compare_with else None)
        token = httpx.post(f"{api_base}/api/v1/auth/login", json={
            "email": "bench@example.com", "password": PASSWORD}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        rep_token = httpx.post(f"{api_base}/api/v1/auth/login", json={
            "email": "rep0@example.com", "password": PASSWORD}).json()["access_token"]

        def one_insert(rng):
            return "POST", f"{base_url}/insert", {"json": {
                "email": f"{uuid.uuid4().hex}@bench.example", "payload": {"utm": "x"}}}

        def capture_at(base):
            def capture(rng):
                known = rng.random() < 0.5  # half of them existing contacts
                email = (f"p{rng.randrange(1, scale)}@bench.example" if known
                         else f"{uuid.uuid4().hex}@new.example")
                return "POST", f"{base}/api/v1/forms/bench/submissions", {"json": {
                    "submission_id": uuid.uuid4().hex,
                    "fields": {"email": email, "first_name": rng.choice(FIRST),
                               "last_name": rng.choice(LAST), "company": "Bench Inc"},
                    "utm": {"source": "google", "medium": "cpc"}}}
            return capture

        def search(rng, headers=auth):
            q = f"{_typo(rng.choice(FIRST), rng)} {_typo(rng.choice(LAST), rng)}"
            return "GET", f"{api_base}/api/v1/contacts", {"params": {"q": q, "limit": 20},
                                                         "headers": headers}

        def rep_search(rng):
            return search(rng, {"Authorization": f"Bearer {rep_token}"})

        closed = lambda make: lambda: _drive(make, seconds, concurrency)  # noqa: E731
        at_rate = lambda make, r, n=64: lambda: _drive_at_rate(  # noqa: E731
            make, seconds, r, senders=n)
        # each workload: groups of runs, a group's runs alternating in order by round
        rates = {"at_rate": rate, **{f"at_{r:g}": r for r in also_rates}}
        plan = {"one_insert": [[("one_insert", baseline, closed(one_insert))]],
                "one_insert_at_rate": [[(f"one_insert_{name}", baseline,
                                         at_rate(one_insert, r))] for name, r in rates.items()],
                "contact_search": [[("contact_search", api, closed(search))]],
                "rep_search_at_rate": [[("rep_search_at_rate", api,
                                         at_rate(rep_search, search_rate, 16))]]}
        captures = {"lead_capture": closed} | {
            f"lead_capture_{name}": lambda m, r=r: at_rate(m, r) for name, r in rates.items()}
        for label, drive in captures.items():
            kind = "lead_capture" if label == "lead_capture" else "lead_capture_at_rate"
            group = [(label, api, drive(capture_at(api_base)))]
            if compared:
                group.append((f"{label}_compared", compared[0],
                              drive(capture_at(compared[1]))))
            plan.setdefault(kind, []).append(group)
        results: dict[str, list[dict]] = {}
        for n in range(rounds):
            for kind in workloads:
                for label, server, make in (run for group in plan[kind]
                                            for run in group[::-1 if n % 2 == 0 else 1]):
                    cpu, db_cpu = _cpu_seconds(server), _db_cpu_seconds(url)
                    result = uvloop.run(make())
                    answered = max(1, result["requests"] - result["errors"])
                    result["server_cpu_ms"] = round(
                        (_cpu_seconds(server) - cpu) * 1000 / answered, 2)
                    result["db_cpu_ms"] = round(sum(
                        t - db_cpu.get(pid, 0.0) for pid, t in _db_cpu_seconds(url).items()
                    ) * 1000 / answered, 2)
                    results.setdefault(label, []).append(result)
                    print(f"{label} (round {n + 1}): {result}", file=sys.stderr)
        search_plan = None
        if "contact_search" in workloads or "rep_search_at_rate" in workloads:
            search_plan = explain_search(url, "Jmaes Smiht")
            print("EXPLAIN ANALYZE of a rep's search for 'Jmaes Smiht':\n  "
                  + "\n  ".join(search_plan), file=sys.stderr)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        get_engine(url).dispose()

    def mean_throughput(label: str) -> float | None:
        runs = results.get(label)
        return round(sum(r["throughput"] for r in runs) / len(runs), 1) if runs else None

    def mean_p95(label: str) -> float | None:
        runs = results.get(label)
        return round(sum(r["p95_ms"] for r in runs) / len(runs), 2) if runs else None

    if "lead_capture" in results or "rep_search_at_rate" not in results:
        value, baseline_value = mean_throughput("lead_capture"), mean_throughput("one_insert")
        head = {"unit": "req/s", "baseline": "FastAPI endpoint doing one INSERT"}
    else:  # the searches alone: a rep's search p95 against the one-INSERT endpoint's
        value, baseline_value = mean_p95("rep_search_at_rate"), mean_p95("one_insert_at_rate")
        head = {"unit": f"ms (p95 of a rep's search at {search_rate:g}/s)",
                "baseline": f"FastAPI endpoint doing one INSERT, p95 at {rate:g}/s"}
    rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
              resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {"bench": "api_load", "scale": scale, "value": value, **head,
            "baseline_value": baseline_value,
            "ratio": round(value / baseline_value, 3) if value and baseline_value else None,
            "peak_rss_mb": round(rss / 1024, 1), "concurrency": concurrency,
            "seconds": seconds, "workers": workers, "rounds": rounds,
            "compared_with": str(compare_with) if compare_with else None,
            **{label: runs[0] if len(runs) == 1 else runs for label, runs in results.items()},
            **({"search_plan_ms": float(search_plan[-1].split()[-2])} if search_plan else {})}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api_load", description=__doc__
                                     .split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1_000_000, help="contacts loaded first")
    parser.add_argument("--seconds", type=float, default=20, help="per workload")
    parser.add_argument("--concurrency", type=int, default=8, help="clients at once")
    parser.add_argument("--rate", type=float, default=200,
                        help="lead captures (and INSERTs) per second offered open loop")
    parser.add_argument("--also-rates", default="", metavar="R2,R3",
                        help="more rates for the open-loop INSERT and lead-capture "
                             "workloads (labelled ..._at_R)")
    parser.add_argument("--search-rate", type=float, default=20,
                        help="a rep's searches per second offered in the open-loop run")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per server")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help=f"comma-separated, in this order: {', '.join(WORKLOADS)}")
    parser.add_argument("--compare-with", type=Path, metavar="DIR",
                        help="another checkout of salesops (e.g. `git worktree add DIR "
                             "main`): its API also takes every lead-capture workload")
    parser.add_argument("--rounds", type=int, default=1, help="run the workloads N times")
    args = parser.parse_args(argv)
    workloads = tuple(w for w in WORKLOADS if w in args.workloads.split(","))
    if unknown := set(args.workloads.split(",")) - set(WORKLOADS):
        parser.error(f"unknown workload {', '.join(sorted(unknown))}; choose from "
                     f"{', '.join(WORKLOADS)}")
    if args.compare_with and not (args.compare_with / "api" / "main.py").is_file():
        parser.error(f"--compare-with {args.compare_with}: no api/main.py there; give the "
                     "root of a salesops checkout")
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        workdir = Path(tmp)
        if not (redis_url := os.environ.get("REDIS_URL")):
            from salesops.embedded import start_redis
            redis_url = start_redis(workdir / "redis")
        with scratch_database(workdir, "bench_api") as url:
            result = run(url, redis_url, args.scale, args.seconds, args.concurrency, workdir,
                         args.rate, args.workers, args.search_rate, workloads,
                         args.compare_with, args.rounds,
                         tuple(float(r) for r in args.also_rates.split(",") if r))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
