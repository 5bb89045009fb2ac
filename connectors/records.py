"""What every connector yields: batches of plain records plus the rows it could not read.

Records are JSON-serialisable dicts with the source's original fields and a `source_key`;
`salesops.loading.load_batch` takes the fields of a batch as plain arguments, so the core
never imports connectors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

#: Rows per batch: big enough for COPY to shine, small enough to keep memory flat.
DEFAULT_CHUNK = 50_000


@dataclass(frozen=True)
class Rejected:
    """A row the connector could not turn into a record, kept with the reason (quarantine)."""

    source_key: str | None
    reason: str
    record: dict[str, Any]


@dataclass
class RecordBatch:
    source: str
    entity: str
    origin: str
    records: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Rejected] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records) + len(self.rejects)


@dataclass
class CsvBatch:
    """Whole rows of a CSV file as their bytes, for the database to parse in bulk
    (`salesops.loading.load_csv_batch`); `records` and `rejects` are the connector's own
    reading of the same rows, parsed only when asked for.

    A connector makes one only of rows PostgreSQL's CSV reader splits as it does (RFC 4180
    quoting, no file cut inside quotes); the loader checks the rest.
    """

    source: str
    entity: str
    origin: str
    data: bytes
    rows: int
    columns: list[str]
    delimiter: str
    key: str
    parse: Callable[[], Iterable[dict[str, Any] | Rejected]] = field(repr=False)

    @cached_property
    def _parsed(self) -> RecordBatch:
        batch = RecordBatch(self.source, self.entity, self.origin)
        for item in self.parse():
            (batch.rejects if isinstance(item, Rejected) else batch.records).append(item)
        return batch

    @property
    def records(self) -> list[dict[str, Any]]:
        return self._parsed.records

    @property
    def rejects(self) -> list[Rejected]:
        return self._parsed.rejects

    def __len__(self) -> int:
        return self.rows


def chunked(source: str, entity: str, origin: str, items: Iterable[dict[str, Any] | Rejected],
            size: int = DEFAULT_CHUNK) -> Iterator[RecordBatch]:
    """Pack a stream of records and rejects into batches of at most `size` rows.

    Yields nothing for an empty stream, so an empty file makes no empty batch.
    """
    batch = RecordBatch(source, entity, origin)
    for item in items:
        if isinstance(item, Rejected):
            batch.rejects.append(item)
        else:
            batch.records.append(item)
        if len(batch) >= size:
            yield batch
            batch = RecordBatch(source, entity, origin)
    if len(batch):
        yield batch
