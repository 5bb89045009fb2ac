"""Append-only sinks for the data set's files, each counting what it wrote for the manifest.

Files are opened once and appended chunk by chunk, so memory stays flat at any scale.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import pandas as pd

_JSON = json.JSONEncoder(ensure_ascii=False, check_circular=False, separators=(",", ":"))


class Output:
    """The data set folder; `counts` maps each relative file path to its rows written."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.counts: dict[str, int] = {}
        self._files: list[IO[str]] = []
        self._pages: list[PageSink] = []

    def open(self, rel: str) -> IO[str]:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("w", encoding="utf-8", newline="")
        self._files.append(handle)
        self.counts[rel] = 0
        return handle

    def csv(self, rel: str, columns: list[str]) -> CsvSink:
        return CsvSink(self, rel, columns)

    def jsonl(self, rel: str) -> JsonlSink:
        return JsonlSink(self, rel)

    def pages(self, rel_dir: str, endpoint: str) -> PageSink:
        sink = PageSink(self, rel_dir, endpoint)
        self._pages.append(sink)
        return sink

    def close(self) -> None:
        for sink in self._pages:
            sink.finish()
        for handle in self._files:
            handle.close()

    def __enter__(self) -> Output:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CsvSink:
    """A Salesforce-export-style CSV: every field quoted, header row written up front."""

    def __init__(self, out: Output, rel: str, columns: list[str]) -> None:
        self._out, self._rel, self.columns = out, rel, columns
        self._handle = out.open(rel)
        csv.writer(self._handle, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow(columns)

    def write(self, frame: pd.DataFrame) -> None:
        frame[self.columns].to_csv(self._handle, header=False, index=False,
                                   quoting=csv.QUOTE_ALL, lineterminator="\n")
        self._out.counts[self._rel] += len(frame)


class JsonlSink:
    """One compact JSON object per line."""

    def __init__(self, out: Output, rel: str) -> None:
        self._out, self._rel = out, rel
        self._handle = out.open(rel)

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        lines = [_JSON.encode(r) for r in records]
        if lines:
            self._handle.write("\n".join(lines) + "\n")
        self._out.counts[self._rel] += len(lines)


class PageSink:
    """HubSpot v3 list responses of 100 results; every page but the last links the next.

    A page is held back until the first record of the next one arrives, because only then
    is it known not to be the last.
    """

    PAGE_SIZE = 100

    def __init__(self, out: Output, rel_dir: str, endpoint: str) -> None:
        self._out, self._rel_dir, self._endpoint = out, rel_dir, endpoint
        self._buffer: list[dict[str, Any]] = []
        self._written = 0

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        self._buffer.extend(records)
        while len(self._buffer) > self.PAGE_SIZE:
            after = self._buffer[self.PAGE_SIZE]["id"]
            self._page(self._buffer[: self.PAGE_SIZE], {"next": {
                "after": after,
                "link": f"https://api.hubapi.com/crm/v3/{self._endpoint}"
                        f"?limit={self.PAGE_SIZE}&after={after}",
            }})
            del self._buffer[: self.PAGE_SIZE]

    def finish(self) -> None:
        if self._buffer or not self._written:
            self._page(self._buffer, None)
            self._buffer = []

    def _page(self, results: list[dict[str, Any]], paging: dict[str, Any] | None) -> None:
        self._written += 1
        rel = f"{self._rel_dir}/page-{self._written:04d}.json"
        body: dict[str, Any] = {"results": results}
        if paging:
            body["paging"] = paging
        path = self._out.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_JSON.encode(body), encoding="utf-8")
        self._out.counts[rel] = len(results)
