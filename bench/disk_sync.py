"""The disk's commit latency: 8 kB writes each made durable with fdatasync, as a database
commit is, for S seconds, on the filesystem of a folder (by default the temporary folder,
where the benchmarks' embedded server keeps its data).

    python -m bench.disk_sync [--seconds S] [--dir DIR] [--mode wal|append] [--rate R]

`wal` (the default) overwrites a 16 MB file written and synced beforehand, the way
PostgreSQL writes a WAL segment (`wal_init_zero`): each fdatasync flushes data only.
`append` grows a new file, so each fdatasync also writes the file's new size. `--rate`
paces the syncs (a workload's commit rate) instead of running them flat out. Prints
p50/p99/max and the slow syncs with when they happened (seconds from the start) and how much
of each was spent waiting for a CPU rather than for the disk; the last line is the JSON
result: the p99 against the same writes without fdatasync (page cache).
A database on this disk cannot commit faster than this; stalls seen here are the disk's
(or the machine's other writers'), not the database's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time

BLOCK = 8192
SEGMENT = 16 * 1024 * 1024


def _percentiles(latencies: list[float]) -> dict:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 3)

    return {"writes": len(ordered), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "p999_ms": pct(0.999), "max_ms": round(ordered[-1] * 1000, 3),
            "over_10_ms": sum(t > 0.010 for t in ordered),
            "over_50_ms": sum(t > 0.050 for t in ordered)}


def _runqueue_wait() -> float:
    """Seconds this thread has waited for a CPU so far (Linux schedstat): a slow sync on a
    busy machine may be time spent waiting to run again, not in the disk."""
    with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as stat:
        return int(stat.read().split()[1]) / 1e9


def _write_loop(fd: int, seconds: float, sync: bool, mode: str, rate: float = 0
               ) -> tuple[list, list]:
    """Write 8 kB blocks one after the other (wrapping round the segment in `wal` mode),
    each followed by fdatasync when `sync`, `rate` a second (0: as fast as they go);
    return the latencies and the slow ones."""
    block = os.urandom(BLOCK)
    latencies, slow = [], []
    start = time.perf_counter()
    offset = 0
    waited = _runqueue_wait()
    while (now := time.perf_counter()) - start < seconds:
        if rate:
            time.sleep(max(0.0, start + len(latencies) / rate - now))
            now = time.perf_counter()
        os.pwrite(fd, block, offset)
        if sync:
            os.fdatasync(fd)
        took = time.perf_counter() - now
        latencies.append(took)
        waited, before = _runqueue_wait(), waited
        if took > 0.010:
            slow.append((round(now - start, 2), round(took * 1000, 1),
                         round((waited - before) * 1000, 1)))
        offset += BLOCK
        if mode == "wal" and offset >= SEGMENT:
            offset = 0
    return latencies, slow


def measure(folder: str, seconds: float, mode: str, rate: float = 0) -> dict:
    with tempfile.TemporaryDirectory(dir=folder, prefix="disk-sync-") as tmp:
        path = os.path.join(tmp, "segment")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if mode == "wal":
                os.write(fd, bytes(SEGMENT))
                os.fsync(fd)
            synced, slow = _write_loop(fd, seconds, True, mode, rate)
            os.ftruncate(fd, SEGMENT if mode == "wal" else 0)
            cached, _ = _write_loop(fd, min(seconds, 5.0), False, mode)
        finally:
            os.close(fd)
    over_50 = [(took, wait) for _, took, wait in slow if took > 50]
    return {"synced": {**_percentiles(synced), "over_50_ms_waiting_for_cpu_ms": round(
                sum(wait for _, wait in over_50), 1), "over_50_ms_total_ms": round(
                sum(took for took, _ in over_50), 1)},
            "cached": _percentiles(cached), "slow": slow}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.disk_sync",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--dir", default=tempfile.gettempdir(),
                        help="a folder on the filesystem to measure")
    parser.add_argument("--mode", choices=("wal", "append"), default="wal")
    parser.add_argument("--rate", type=float, default=0,
                        help="syncs per second (e.g. a workload's commit rate); 0: flat out")
    args = parser.parse_args(argv)
    result = measure(args.dir, args.seconds, args.mode, args.rate)
    synced, cached = result["synced"], result["cached"]
    print(f"8 kB write + fdatasync ({args.mode}, {args.rate or 'flat out'}/s), "
          f"{args.seconds:g} s: {synced}",
          file=sys.stderr)
    print(f"8 kB write, no sync: {cached}", file=sys.stderr)
    print("syncs over 10 ms (s from start, ms, of which ms waiting for a CPU), the first "
          f"100: {result['slow'][:100]}", file=sys.stderr)
    print(json.dumps({"bench": "disk_sync", "scale": synced["writes"],
                      "value": synced["p99_ms"], "unit": "ms (p99 of 8 kB write + fdatasync)",
                      "baseline": "8 kB write without fdatasync",
                      "baseline_value": cached["p99_ms"],
                      "ratio": round(synced["p99_ms"] / cached["p99_ms"], 1)
                      if cached["p99_ms"] else None,
                      "dir": args.dir, "mode": args.mode, "seconds": args.seconds,
                      "rate": args.rate,
                      "synced": synced, "cached": cached}))


if __name__ == "__main__":
    main()
