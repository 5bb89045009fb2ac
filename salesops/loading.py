"""Bulk loading into `raw`: one batch, one transaction, COPY only.

A batch either lands whole (its `ops.load_batches` row marked loaded, its new rows in the
raw table, its rejects in `ops.rejected_rows`) or not at all, and then its batch row says
failed with the error. A record already loaded (same source key, same content hash) is
counted as a duplicate and adds nothing, so re-loading the same input is harmless.

Connectors hand their batches over as plain arguments; salesops never imports them.
"""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np
import orjson
import polars as pl
import polars_hash  # noqa: F401  (registers the `chash` expressions)
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from psycopg import sql
from psycopg.abc import Buffer
from psycopg.copy import QueuedLibpqWriter

from salesops.errors import SalesopsError
from salesops.models.raw import LINEAGE, RAW_TABLES, has_record_columns, raw_table_name


class LoadFailed(SalesopsError):
    """A batch could not be loaded; nothing of it was kept and its batch row says why."""

    def __init__(self, message: str, batch_id: uuid.UUID | None = None) -> None:
        super().__init__(message)
        self.batch_id = batch_id


class RejectLike(Protocol):
    """A row a reader could not use (e.g. `connectors.records.Rejected`)."""

    @property
    def source_key(self) -> str | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def record(self) -> Mapping[str, Any] | None: ...


class CsvBatchLike(Protocol):
    """Whole rows of one CSV file as their bytes (e.g. `connectors.records.CsvBatch`), split
    where PostgreSQL's CSV reader splits them; `records` and `rejects` are the connector's
    own reading of them, asked for only when PostgreSQL reads them otherwise.
    """

    source: str
    entity: str
    origin: str
    data: bytes
    rows: int
    columns: Sequence[str]
    delimiter: str
    key: str

    @property
    def records(self) -> Iterable[Mapping[str, Any]]: ...
    @property
    def rejects(self) -> Iterable[RejectLike]: ...


B = TypeVar("B", bound=CsvBatchLike)


@dataclass(frozen=True)
class LoadResult:
    batch_id: uuid.UUID
    source: str
    entity: str
    rows_in: int
    rows_loaded: int
    rows_duplicate: int
    rows_rejected: int


@dataclass(frozen=True)
class _Reject:
    source_key: str | None
    reason: str
    record: Mapping[str, Any] | None


def canonical_json(record: Mapping[str, Any]) -> bytes:
    """The record as canonical JSON (orjson: sorted keys, compact, UTF-8): what is hashed and
    stored. Changing this form would make every record look new, so it stays fixed.

    PostgreSQL cannot hold NUL in jsonb, so NUL characters in strings are dropped; a value
    JSON cannot hold (an arbitrary object, a lone surrogate) raises TypeError.
    """
    data = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    if b"\\u0000" in data:
        data = orjson.dumps(_drop_nul(record), option=orjson.OPT_SORT_KEYS)
    return data


def content_hash(data: bytes) -> str:
    """The content hash of a jsonb raw table's record: SHA-256 of its canonical JSON, hex."""
    return hashlib.sha256(data).hexdigest()


def fields_hash(fields: Mapping[str, str | None]) -> str:
    """The content hash of a record held as text columns (`has_record_columns`), as the 32
    hex digits of the uuid stored: the first 16 bytes of the SHA-256 of its non-empty fields
    in sorted-name order, each as `name NUL value NUL` in UTF-8. Neither can hold a NUL, so
    no escaping is needed; an empty or absent field is left out, so a column added later,
    empty, re-versions nothing. Migration 9d4b7e1a3c58 computes the same in SQL, and
    `_prepare_csv` in Polars for a CSV batch; changing it re-versions every record.
    """
    data = "".join(f"{name}\0{value}\0" for name, value in sorted(fields.items()) if value)
    return hashlib.sha256(data.encode()).hexdigest()[:32]


def load_batch(engine: sa.Engine, source: str, entity: str, origin: str | None,
               records: Iterable[Mapping[str, Any]],
               rejects: Iterable[RejectLike] = (),
               after: Callable[[sa.Connection, LoadResult], None] | None = None) -> LoadResult:
    """Load one batch into `raw.<source>__<entity>`; raise LoadFailed if it cannot.

    Each record carries its `source_key`; the rest of it is stored as the raw record. A
    record without a key, or that is not JSON, is rejected rather than failing the batch.
    `after` runs in the batch's transaction (advance a cursor, resolve replayed rejects), so
    it happens exactly when the batch lands.
    """
    def load(conn: sa.Connection, batch_id: uuid.UUID) -> LoadResult:
        return _load(conn, batch_id, source, entity, records, rejects)

    return _in_batch(engine, source, entity, origin, load, after)


def load_csv_batch(engine: sa.Engine, batch: CsvBatchLike,
                   after: Callable[[sa.Connection, LoadResult], None] | None = None
                   ) -> LoadResult:
    """Load CSV rows as `load_batch` would load the parser's records: the same raw rows,
    the same content hashes, the same rejects.

    Into a raw table of one text column per field (`salesops.models.raw.COLUMN_SOURCES`)
    the rows go, read and hashed by Polars with their lineage in front (`_prepare_csv`),
    by one binary COPY; records stored already are left out (`_write_csv`). A batch that
    cannot be stored as it is (not UTF-8, a NUL, a row of the wrong width, an empty key),
    and any batch for a jsonb raw table, is loaded from the parser's records and rejects,
    so its rejects keep their file and line.
    """
    return _write_csv(engine, _prepare_csv(batch), after)


def load_csv_batches(engine: sa.Engine, batches: Iterable[B]) -> Iterator[tuple[B, LoadResult]]:
    """Load each batch as `load_csv_batch` does, in order, two at a time: while a second
    thread writes a batch (its transaction, COPY and commit, mostly waiting on the server),
    this one reads and hashes the next. Batches still write and commit one after
    another. A batch that fails stops the run (LoadFailed, after the batches before it
    landed); the next one is never written, nor is one after the caller stops.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="salesops-copy") as pool:
        writing: tuple[B, Future[LoadResult]] | None = None
        for batch in batches:
            prepared = _prepare_csv(batch)
            if writing is not None:
                yield writing[0], writing[1].result()
            writing = batch, pool.submit(_write_csv, engine, prepared)
        if writing is not None:
            yield writing[0], writing[1].result()


@dataclass
class _PreparedCsv:
    """A CSV batch read for COPY: `frame`, its distinct rows (source key, content hash as
    hex, then the fields), and `data`, the same in COPY's binary format behind the batch id
    and source; `frame` None when the batch is loaded from its records. Made off the
    writing thread."""

    batch: CsvBatchLike
    batch_id: uuid.UUID
    frame: pl.DataFrame | None = None
    data: list[Buffer] = field(default_factory=list)


# what Python's str.strip() strips (all such characters are below U+3001), so that a key
# is trimmed here exactly as `_insert_columns` trims it
_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())


def _prepare_csv(batch: CsvBatchLike) -> _PreparedCsv:
    """Read and hash a batch's rows with Polars (in Rust, without the GIL, so the writing
    thread goes on meanwhile).

    Each row's content hash is `fields_hash` of its fields (names from the header), as
    `load_batch` takes it, whatever the file's column order: SHA-256 (polars-hash) of the
    non-empty fields as `name NUL value NUL` in sorted-name order. The rows go to COPY in
    its binary format (`_copy_data`) with the batch id, source, source key and hash in
    front. A row repeated within the batch is counted and left out.

    Polars reads RFC 4180 quoting as Python's csv does (the connector sends only that), but
    gives a row of too few fields empty strings for the missing ones; so fields are counted
    first (`_whole_rows`), and a batch of rows of the wrong width, not UTF-8, with a NUL
    or an empty key is left to the parser's records, which quarantine what is wrong.
    """
    prepared = _PreparedCsv(batch, uuid.uuid4())
    names = list(batch.columns)
    if (not has_record_columns(batch.source) or batch.key not in names
            or len(set(names)) != len(names) or not all(map(_column_name, names))
            or b"\x00" in batch.data
            or not _whole_rows(batch.data, batch.rows, len(names), batch.delimiter)):
        return prepared
    try:
        frame = pl.read_csv(batch.data, has_header=False, new_columns=names,
                            infer_schema=False, separator=batch.delimiter, quote_char='"',
                            empty_string_is_null=False)
    except pl.exceptions.PolarsError:  # not UTF-8 (the parser reads such lines as cp1252)
        return prepared
    key = pl.col(batch.key).str.strip_chars(_WHITESPACE)
    if frame.height != batch.rows or frame.select((key == "").any()).item():
        return prepared
    pieces = [pl.when(pl.col(name) != "").then(pl.concat_str(
        pl.lit(f"{name}\0"), pl.col(name), pl.lit("\0"))) for name in sorted(names)]
    frame = frame.select(
        key.alias("source_key"),
        pl.concat_str(pieces, ignore_nulls=True).chash.sha2_256().str.slice(0, 32)
        .alias("content_hash"),
        pl.all(),
    ).unique("content_hash", keep="first", maintain_order=True)  # the key is a field
    prepared.frame = frame
    prepared.data = _copy_data(frame, prepared.batch_id, batch.source)
    return prepared


def _whole_rows(data: bytes, rows: int, width: int, delimiter: str) -> bool:
    """Whether `data` is `rows` lines of `width` fields each, counted outside quotes (a
    quoted field may hold delimiters and line breaks): a row of too many fields is one
    Polars refuses, so the right total of delimiters means none has too few."""
    outside = b"".join(data.split(b'"')[::2]) if b'"' in data else data
    lines = outside.count(b"\n") + (not outside.endswith(b"\n"))
    return lines == rows and outside.count(delimiter.encode()) == rows * (width - 1)


_BINARY = pa.large_binary()
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no extension
_COPY_TRAILER = b"\xff\xff"


def _copy_data(frame: pl.DataFrame, batch_id: uuid.UUID, source: str) -> list[Buffer]:
    """The frame's rows (source key, content hash, fields) as COPY's binary format, behind
    the batch id and source: each row its field count, then each field's length and bytes.
    In three parts, the rows as pyarrow joined them, to copy 16 MB a batch less.

    Binary, not CSV, because the server then parses neither lines nor uuids (PostgreSQL
    reads a uuid's hex a byte at a time, with strtoul: two uuids a row). Measured at
    1,000,000 rows: one COPY of 3.8 s as CSV, 3.3-3.5 s as binary; the pyarrow join costs the
    client some 20 ms a batch more than Polars' `write_csv`, off the server's core.
    """
    table = frame.with_columns(pl.col("content_hash").str.decode("hex")).to_arrow()
    source_bytes = source.encode()
    pieces: list[Any] = [pa.scalar(struct.pack(">hi", 2 + table.num_columns, 16)
                                   + batch_id.bytes + struct.pack(">i", len(source_bytes))
                                   + source_bytes, _BINARY)]
    for column in table.columns:
        values = column.combine_chunks()
        lengths = pc.binary_length(values).to_numpy().astype(">i4")
        pieces += [pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(4), len(values), [None, pa.py_buffer(lengths)]).cast(_BINARY),
            values.cast(_BINARY)]
    rows = pc.binary_join_element_wise(*pieces, pa.scalar(b"", _BINARY))
    end = int(np.frombuffer(rows.buffers()[1], np.int64)[len(rows)])
    return [_COPY_HEADER, memoryview(rows.buffers()[2])[:end], _COPY_TRAILER]


def _write_csv(engine: sa.Engine, prepared: _PreparedCsv,
               after: Callable[[sa.Connection, LoadResult], None] | None = None) -> LoadResult:
    """One prepared CSV batch as one batch: its new rows COPYed, or its records loaded.

    Optimistic, as `_insert_new`: the rows go straight into the raw table, whose primary key
    (source key, content hash) finds a record stored already at no extra cost; only then is
    that COPY rolled back to its savepoint and the stored versions of the batch's keys
    looked up (`_stored_rows`), so a batch of new records costs one COPY and nothing more.
    """
    batch = prepared.batch

    def load(conn: sa.Connection, batch_id: uuid.UUID) -> LoadResult:
        if prepared.frame is None:
            return _load(conn, batch_id, batch.source, batch.entity, batch.records,
                         batch.rejects)
        driver: psycopg.Connection = conn.connection.driver_connection  # type: ignore[assignment]
        names = list(batch.columns)
        table = raw_table_name(batch.source, batch.entity)
        statement = sql.SQL(
            "copy {t} (batch_id, source, source_key, content_hash, {f}) from stdin "
            "with (format binary)"
        ).format(t=sql.Identifier("raw", table), f=sql.SQL(", ").join(map(sql.Identifier, names)))
        _queue_deep(driver)
        with driver.cursor() as cur:
            _lock_table(cur, table, names)
            try:
                with driver.transaction(), cur.copy(statement) as copy:
                    for part in prepared.data:
                        copy.write(part)
                loaded = prepared.frame.height
            except psycopg.errors.UniqueViolation:
                frame = prepared.frame
                keys = frame.get_column("source_key").to_list()
                keep = _stored_rows(cur, table, keys, frame.get_column("content_hash").to_list(),
                                    _key_array(keys))
                with cur.copy(statement) as copy:
                    for part in _copy_data(frame[keep], prepared.batch_id, batch.source):
                        copy.write(part)
                loaded = len(keep)
        return LoadResult(batch_id, batch.source, batch.entity, batch.rows, loaded,
                          batch.rows - loaded, 0)

    batch_id, conn = _begin_batch(engine, batch.source, batch.entity, batch.origin,
                                  prepared.batch_id)
    return _end_batch(conn, batch_id, batch.source, batch.entity, batch.origin, load, after)


def _queue_deep(conn: psycopg.Connection, size: int = 4 << 20) -> None:
    """Let the kernel queue up to `size` bytes (as far as net.core.wmem_max allows) that the
    connection sends the server, against some 200 KB by default.

    A server reads a COPY at 80-100 MB/s here: a default queue is empty after 2-3 ms,
    sooner than the OS gives the writing thread a core back while the reading thread and
    the server hold both, and the server waited. Measured at 1,000,000 rows: 4.55-5.05 s,
    3.82-4.03 s with 4 MB.
    """
    with socket.socket(fileno=os.dup(conn.pgconn.socket)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)


def _column_name(name: str) -> bool:
    """Whether a field can name its own column: not a lineage column's name, and one
    PostgreSQL keeps whole (1 to 63 bytes, no NUL)."""
    return name not in LINEAGE and 0 < len(name.encode()) < 64 and "\x00" not in name


def _key_array(keys: Iterable[str]) -> str:
    """The distinct keys as one sorted JSON array: orjson writes it at once, where a list
    parameter is adapted key by key in Python (0.1 s for 50,000, holding the GIL)."""
    return orjson.dumps(sorted(set(keys))).decode()


def _new_rows(cur: psycopg.Cursor, source: str, entity: str, names: Sequence[str],
              keys: Sequence[str], digests: Sequence[str]) -> list[int] | None:
    """Make the batch's fields columns of the raw table and find which of its (distinct)
    rows the table lacks: the indexes of those, or None for all of them.

    First one probe for the range of the batch's keys (in the column's own collation): a
    batch of keys beyond the stored ones, a first load or new records, needs no probe per
    key.
    """
    table = raw_table_name(source, entity)
    _lock_table(cur, table, names)
    key_array = _key_array(keys)
    cur.execute("select min(k), max(k) from json_array_elements_text(%s::json) k",
                (key_array,))
    bounds = cur.fetchone()
    cur.execute("set local enable_seqscan = off")  # an index probe, never a scan (below)
    cur.execute(sql.SQL("select exists (select from {} where source_key between %s and %s)"
                        ).format(sql.Identifier("raw", table)), bounds)
    found = cur.fetchone()[0]  # type: ignore[index]
    cur.execute("reset enable_seqscan")
    if not found:
        return None
    return _stored_rows(cur, table, keys, digests, key_array)


def _lock_table(cur: psycopg.Cursor, table: str, names: Sequence[str]) -> None:
    """Take the raw table's load lock and give it a column for each of the batch's fields.

    The lock, held to the end of the batch's transaction, serialises the loads of a table,
    so no other load adds one of the batch's rows before this one commits.
    """
    cur.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"raw.{table}",))
    _add_columns(cur, table, names)


def _stored_rows(cur: psycopg.Cursor, table: str, keys: Sequence[str],
                 digests: Sequence[str], key_array: str) -> list[int]:
    """The indexes of the batch's rows that `raw.<table>` lacks: only the stored versions
    of the batch's keys are read, one index probe per key (sorted)."""
    # Never a scan of the whole table: the planner would rather read a table of a million
    # rows than look up 50,000 keys in its index.
    cur.execute("set local enable_seqscan = off")
    cur.execute(sql.SQL("select source_key, content_hash from {} where source_key = "
                        "any(array(select json_array_elements_text(%s::json)))"
                        ).format(sql.Identifier("raw", table)), (key_array,))
    stored = {(key, digest.hex) for key, digest in cur.fetchall()}  # uuid -> hex digits
    cur.execute("reset enable_seqscan")
    return [i for i, pair in enumerate(zip(keys, digests, strict=True)) if pair not in stored]


def _add_columns(cur: psycopg.Cursor, table: str, names: Sequence[str]) -> None:
    """Add a text column for each field the raw table has no column for yet: metadata only,
    in the batch's transaction (so it goes if the batch fails)."""
    cur.execute("select attname from pg_attribute where attrelid = %s::regclass "
                "and attnum > 0 and not attisdropped", (f"raw.{table}",))
    have = {name for (name,) in cur.fetchall()}
    missing = [name for name in names if name not in have]
    for name in names:
        if not _column_name(name):
            raise LoadFailed(f"the field {name!r} cannot be a column of raw.{table} (empty, "
                             "longer than 63 bytes, or a lineage column's name): rename it in "
                             "the file and load it again")
    if missing:
        cur.execute(sql.SQL("alter table {} ").format(sql.Identifier("raw", table))
                    + sql.SQL(", ").join(sql.SQL("add column if not exists {} text").format(
                        sql.Identifier(name)) for name in missing))


def _in_batch(engine: sa.Engine, source: str, entity: str, origin: str | None,
              load: Callable[[sa.Connection, uuid.UUID], LoadResult],
              after: Callable[[sa.Connection, LoadResult], None] | None) -> LoadResult:
    """Run `load` as one batch: one transaction with its `ops.load_batches` row."""
    batch_id, conn = _begin_batch(engine, source, entity, origin)
    return _end_batch(conn, batch_id, source, entity, origin, load, after)


def _begin_batch(engine: sa.Engine, source: str, entity: str, origin: str | None,
                 batch_id: uuid.UUID | None = None) -> tuple[uuid.UUID, sa.Connection]:
    """A new batch's id and its open transaction, its `ops.load_batches` row written first:
    the raw rows carry the id, and this row commits with them or not at all."""
    if (source, entity) not in RAW_TABLES:
        raise LoadFailed(f"no raw table for source {source!r}, entity {entity!r}")
    batch_id = batch_id or uuid.uuid4()
    conn = engine.connect()
    try:
        conn.begin()
        conn.execute(sa.text("insert into ops.load_batches (batch_id, source, entity, "
                             "origin, status) values (:b, :s, :e, :o, 'running')"),
                     {"b": batch_id, "s": source, "e": entity, "o": origin})
    except Exception as exc:
        conn.close()
        raise _failed(conn.engine, batch_id, source, entity, origin, exc) from exc
    return batch_id, conn


def _end_batch(conn: sa.Connection, batch_id: uuid.UUID, source: str, entity: str,
               origin: str | None, load: Callable[[sa.Connection, uuid.UUID], LoadResult],
               after: Callable[[sa.Connection, LoadResult], None] | None) -> LoadResult:
    """Load the batch's rows, mark its batch row loaded, commit; or roll it all back."""
    try:
        with conn:
            result = load(conn, batch_id)
            conn.execute(sa.text(
                "update ops.load_batches set status = 'loaded', finished_at = clock_timestamp(),"
                " rows_in = :i, rows_loaded = :l, rows_duplicate = :d, rows_rejected = :r "
                "where batch_id = :b"),
                {"i": result.rows_in, "l": result.rows_loaded, "d": result.rows_duplicate,
                 "r": result.rows_rejected, "b": batch_id})
            if after is not None:
                after(conn, result)
            conn.commit()
    except Exception as exc:
        raise _failed(conn.engine, batch_id, source, entity, origin, exc) from exc
    return result


def _failed(engine: sa.Engine, batch_id: uuid.UUID, source: str, entity: str,
            origin: str | None, exc: BaseException) -> LoadFailed:
    _record_failure(engine, batch_id, source, entity, origin, exc)
    return LoadFailed(f"loading {source}.{entity} from {origin}: {exc}", batch_id)


def _load(conn: sa.Connection, batch_id: uuid.UUID, source: str, entity: str,
          records: Iterable[Mapping[str, Any]], rejects: Iterable[RejectLike]) -> LoadResult:
    driver: psycopg.Connection = conn.connection.driver_connection  # type: ignore[assignment]
    late_rejects: list[_Reject] = []
    table = f"raw.{raw_table_name(source, entity)}"
    with driver.cursor() as cur:
        if has_record_columns(source):
            copied, loaded = _insert_columns(cur, batch_id, source, entity, records,
                                             late_rejects)
        else:
            rows = (row for record in records
                    if (row := _row(record, late_rejects)) is not None)
            copied, loaded = _insert_new(cur, table, batch_id, source, rows)
        rejected = _copy_rejects(cur, batch_id, source, entity, [*rejects, *late_rejects])
    return LoadResult(batch_id, source, entity, copied + rejected, loaded, copied - loaded,
                      rejected)


def _insert_new(cur: psycopg.Cursor, table: str, batch_id: uuid.UUID, source: str,
                rows: Iterable[tuple[str, str, bytes]]) -> tuple[int, int]:
    """Insert the rows not in `table` yet; return (rows given, rows inserted).

    Optimistic: COPY straight into the raw table, one write per row, which is what a batch
    of new records needs. If any row is there already (the unique index on source key and
    hash says so at the end of the COPY), that COPY is rolled back to its savepoint and the
    kept rows go through a temporary table and `on conflict do nothing`.
    """
    kept: list[tuple[str, str, bytes]] = []
    lineage = f"{batch_id}\t{_copy_text(source)}\t".encode()
    try:
        # A savepoint inside the batch's transaction. The queued writer sends in a thread:
        # the server parses while Python serialises.
        with cur.connection.transaction(), cur.copy(
                f"copy {table} (batch_id, source, source_key, content_hash, record) from stdin",
                writer=QueuedLibpqWriter(cur)) as copy:
            for lines in _copy_lines(rows, lineage, kept):
                copy.write(lines)
        return len(kept), len(kept)
    except psycopg.errors.UniqueViolation:
        kept.extend(rows)  # the rest, if the server stopped the COPY early
    cur.execute("create temp table _load (source_key text, content_hash text, record jsonb)"
                " on commit drop")
    with cur.copy("copy _load (source_key, content_hash, record) from stdin",
                  writer=QueuedLibpqWriter(cur)) as copy:
        for lines in _copy_lines(kept, b"", []):
            copy.write(lines)
    cur.execute(f"insert into {table} (batch_id, source, source_key, content_hash, record) "
                f"select %s, %s, source_key, content_hash, record from _load "
                f"on conflict (source_key, content_hash) do nothing", (batch_id, source))
    return len(kept), cur.rowcount


def _insert_columns(cur: psycopg.Cursor, batch_id: uuid.UUID, source: str, entity: str,
                    records: Iterable[Mapping[str, Any]], rejects: list[_Reject]
                    ) -> tuple[int, int]:
    """Records into a column-per-field raw table: (rows given, rows inserted). Each field
    is stored as text (a value that is not a string as its JSON text; null, or a field
    the record lacks, as null), and hashed as stored (`fields_hash`), so the CSV path gives
    the same hash."""
    rows: list[tuple[str, str, dict[str, str]]] = []
    seen: set[tuple[str, str]] = set()
    names: dict[str, None] = {}
    repeats = 0
    for record in records:
        key = record.get("source_key")
        key = None if key is None else str(key).replace("\x00", "").strip()
        if not key:
            rejects.append(_Reject(None, "no source_key", _jsonable(record)))
            continue
        try:
            body = {str(k).replace("\x00", ""): _field_text(v) for k, v in record.items()
                    if k != "source_key" and v is not None}
        except (TypeError, ValueError) as exc:
            rejects.append(_Reject(key, f"not JSON-serialisable: {exc}", _jsonable(record)))
            continue
        digest = fields_hash(body)
        if (key, digest) in seen:
            repeats += 1
            continue
        seen.add((key, digest))
        rows.append((key, digest, body))
        names.update(dict.fromkeys(body))
    keep = _new_rows(cur, source, entity, list(names), [k for k, _, _ in rows],
                     [h for _, h, _ in rows])
    new = rows if keep is None else [rows[i] for i in keep]
    fields = sql.SQL(", ").join(map(sql.Identifier, names))
    with cur.copy(sql.SQL("copy {} (batch_id, source, source_key, content_hash{}{}) from stdin"
                          ).format(sql.Identifier("raw", raw_table_name(source, entity)),
                                   sql.SQL(", " if names else ""), fields)) as copy:
        for key, digest, body in new:
            copy.write_row((batch_id, source, key, digest, *(body.get(n) for n in names)))
    return len(rows) + repeats, len(new)


def _field_text(value: Any) -> str:
    """A record's field as its text column holds it."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    return canonical_json(value).decode()


def _copy_lines(rows: Iterable[tuple[str, str, bytes]], prefix: bytes,
                kept: list[tuple[str, str, bytes]], size: int = 100) -> Iterator[bytes]:
    """COPY text-format lines, `size` rows at a time; each row is appended to `kept` as it
    goes. One write per row costs more than the row; a block of ~50 KB keeps the writer's
    queue (up to 1,024 blocks while the server is behind) well under 100 MB."""
    lines: list[bytes] = []
    for row in rows:
        kept.append(row)
        key, digest, data = row
        # canonical JSON holds no tab, newline or carriage return: only backslashes to double
        lines.append(b"%s%s\t%s\t%s\n" % (prefix, _copy_text(key).encode(), digest.encode(),
                                            data.replace(b"\\", b"\\\\")))
        if len(lines) >= size:
            yield b"".join(lines)
            lines.clear()
    if lines:
        yield b"".join(lines)


def _copy_text(text: str) -> str:
    """A value as COPY's text format spells it."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                .replace("\r", "\\r"))
    return text


def _row(record: Mapping[str, Any], rejects: list[_Reject]) -> tuple[str, str, bytes] | None:
    """(source_key, content_hash, json) for COPY, or None after noting why it is unusable."""
    key = record.get("source_key")
    key = None if key is None else str(key).replace("\x00", "").strip()
    if not key:
        rejects.append(_Reject(None, "no source_key", _jsonable(record)))
        return None
    body = dict(record)
    del body["source_key"]
    try:
        data = canonical_json(body)
    except (TypeError, ValueError) as exc:
        rejects.append(_Reject(key, f"not JSON-serialisable: {exc}", _jsonable(record)))
        return None
    return key, hashlib.sha256(data).hexdigest(), data


def _copy_rejects(cur: psycopg.Cursor, batch_id: uuid.UUID, source: str, entity: str,
                  rejects: list[RejectLike]) -> int:
    if not rejects:
        return 0
    with cur.copy("copy ops.rejected_rows (batch_id, source, entity, stage, source_key, reason,"
                  " record) from stdin") as copy:
        for reject in rejects:
            record = (None if reject.record is None
                      else canonical_json(_jsonable(reject.record)).decode("utf-8"))
            key = None if reject.source_key is None else reject.source_key.replace("\x00", "")
            copy.write_row((batch_id, source, entity, "load", key,
                            reject.reason.replace("\x00", ""), record))
    return len(rejects)


def _record_failure(engine: sa.Engine, batch_id: uuid.UUID, source: str, entity: str,
                    origin: str | None, exc: BaseException) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(
            "insert into ops.load_batches (batch_id, source, entity, origin, status, "
            "finished_at, error) values (:b, :s, :e, :o, 'failed', clock_timestamp(), :err)"),
            {"b": batch_id, "s": source, "e": entity, "o": origin,
             "err": f"{type(exc).__name__}: {exc}".replace("\x00", "")})


def _jsonable(record: Mapping[str, Any]) -> dict[str, Any]:
    """A quarantined record as JSON can hold it: anything else becomes its repr."""
    try:
        canonical_json(record)
        return dict(record)
    except (TypeError, ValueError):
        return {str(k): repr(v) for k, v in record.items()}


def _drop_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, Mapping):
        return {_drop_nul(k): _drop_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_drop_nul(v) for v in value]
    return value
