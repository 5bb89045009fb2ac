"""Runs the services of `salesops up`: one lock per data folder, a state file for
`salesops status`, health checks, and a clean stop of every process on Ctrl-C."""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

from salesops.errors import DataDirError, SalesopsError
from salesops.services import Service

PR_SET_PDEATHSIG = 1


class UpLock:
    """Only one `salesops up` per data folder; the lock dies with its process."""

    def __init__(self, data_dir: Path):
        self.path = data_dir / "up.lock"
        self._fh = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held for the life of the process
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            pid = fh.read().strip() or "unknown"
            fh.close()
            raise DataDirError(
                f"salesops up is already running on {self.path.parent} (pid {pid}). "
                "`salesops status` shows its URLs; stop it with Ctrl-C in its terminal.") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh:
            self._fh.close()
            self._fh = None


def _die_with_parent() -> None:
    """In the child: be sent SIGTERM if `salesops up` itself is killed (Linux)."""
    with suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both stop everything cleanly, also when started in the background
    (where a shell would have SIGINT ignored)."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def state_path(data_dir: Path) -> Path:
    return data_dir / "state.json"


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        return httpx.get(url, timeout=timeout).status_code < 500
    except httpx.HTTPError:
        return False


@dataclass
class Running:
    service: Service
    process: subprocess.Popen
    log: Path


class Supervisor:
    def __init__(self, data_dir: Path, host: str, env: dict[str, str]):
        self.data_dir = data_dir
        self.host = host
        self.env = env
        self.logs = data_dir / "logs"
        self.running: list[Running] = []

    def start(self, service: Service) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{service.name}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(service.command, env={**self.env, **service.env},
                                    stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    preexec_fn=_die_with_parent)
        self.running.append(Running(service, proc, log))

    def wait_healthy(self, timeout: float, on_ready: Callable[[Service], None]) -> None:
        pending = {r.service.name: r for r in self.running}
        deadline = time.monotonic() + timeout
        while pending:
            for name, run in list(pending.items()):
                if run.process.poll() is not None:
                    tail = "\n".join(run.log.read_text(errors="replace").splitlines()[-15:])
                    raise SalesopsError(
                        f"The {run.service.title} exited (code {run.process.returncode}) while "
                        f"starting. Its log is {run.log}; the last lines:\n{tail}")
                if healthy(run.service.health_url(self.host)):
                    pending.pop(name)
                    on_ready(run.service)
            if time.monotonic() > deadline:
                names = ", ".join(pending)
                raise SalesopsError(f"{names} did not become healthy in {timeout:.0f} s; see "
                                    f"the logs in {self.logs}.")
            time.sleep(0.5)

    def write_state(self, database: str, redis: str) -> None:
        state = {
            "pid": os.getpid(), "started_at": time.time(), "database": database, "redis": redis,
            "data_dir": str(self.data_dir),
            "services": {r.service.name: {"title": r.service.title, "pid": r.process.pid,
                                          "url": r.service.url(self.host),
                                          "health_url": r.service.health_url(self.host),
                                          "log": str(r.log)} for r in self.running},
        }
        state_path(self.data_dir).write_text(json.dumps(state, indent=2))

    def watch(self) -> Running | None:
        """Block until a service exits on its own (returned) or we are interrupted."""
        while True:
            for run in self.running:
                if run.process.poll() is not None:
                    return run
            time.sleep(1)

    def stop(self, grace: float = 15.0) -> None:
        for run in self.running:
            if run.process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(run.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for run in self.running:
            try:
                run.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(run.process.pid, signal.SIGKILL)
                run.process.wait()
        self.running.clear()
        state_path(self.data_dir).unlink(missing_ok=True)


def read_status(data_dir: Path) -> dict:
    """What `salesops status` reports: the state file checked against reality."""
    path = state_path(data_dir)
    if not path.exists():
        return {"running": False, "data_dir": str(data_dir), "services": []}
    state = json.loads(path.read_text())
    alive = _pid_alive(state["pid"])
    services = [{"name": name, "title": s["title"], "url": s["url"], "pid": s["pid"],
                 "healthy": alive and healthy(s["health_url"]), "log": s["log"]}
                for name, s in state["services"].items()]
    return {"running": alive, "pid": state["pid"], "data_dir": state["data_dir"],
            "database": state["database"], "redis": state["redis"], "services": services}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
