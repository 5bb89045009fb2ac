"""A real IMAP server for tests (pymap's in-memory backend on a loopback port), and a proxy
that cuts the connection after a number of bytes, as a flaky network would."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

USER, PASSWORD = "sales", "secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


@contextlib.contextmanager
def pymap_server(log: Path) -> Iterator[int]:
    """pymap `dict` backend (UIDVALIDITY changes on every start) for USER / PASSWORD."""
    port = free_port()
    pymap = Path(sys.executable).with_name("pymap")
    with log.open("wb") as out:
        proc = subprocess.Popen([str(pymap), "--host", "127.0.0.1", "--port", str(port), "dict",
                                 "--demo-user", USER, "--demo-password", PASSWORD],
                                stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port)
            yield port
        finally:
            proc.terminate()
            proc.wait(10)


class CuttingProxy:
    """Forwards to `upstream`; after `limit` bytes from the server it closes both sides."""

    def __init__(self, upstream: int, limit: int) -> None:
        self.upstream, self.limit = upstream, limit
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._pump, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, self.limit),
                             daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while data := src.recv(4096):
                if limit is not None and sent + len(data) > limit:
                    dst.sendall(data[:limit - sent])
                    self.cuts += 1
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.listener.close()
