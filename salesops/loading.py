"""Bulk loading into `raw`: one batch, one transaction, COPY only.

A batch either lands whole (its `ops.load_batches` row marked loaded, its new rows in the
raw table, its rejects in `ops.rejected_rows`) or not at all, and then its batch row says
failed with the error. A record already loaded (same source key, same content hash) is
counted as a duplicate and adds nothing, so re-loading the same input is harmless.

Connectors hand their batches over as plain arguments; salesops never imports them.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import orjson
import psycopg
import sqlalchemy as sa
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from salesops.errors import SalesopsError
from salesops.models.raw import RAW_TABLES, raw_table_name


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
    return hashlib.sha256(data).hexdigest()


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
    """Load CSV rows as `load_batch` would load the parser's records, with the same raw rows
    and content hashes, but parsed and hashed by PostgreSQL.

    The rows are COPY'd as they are into a temporary table of text columns, turned into
    (key, SHA-256, canonical JSON) in SQL into a second one, and those go into the raw table,
    the JSON parsed into jsonb, by one INSERT ... SELECT. A batch PostgreSQL cannot
    read as the parser does (a COPY error such as a bad column count or encoding, a row
    count that differs, a key that is empty or would be trimmed) is rolled back to a
    savepoint and loaded through `load_batch`'s path from the parser's records and rejects,
    so its rejects keep their file and line.
    """
    return _finish_csv(_stage_csv(engine, batch), after)


def load_csv_batches(engine: sa.Engine, batches: Iterable[B]) -> Iterator[tuple[B, LoadResult]]:
    """Load each batch as `load_csv_batch` does, in order, two at a time: while one
    connection writes a batch's raw rows into the raw table, a second one (in a thread) opens
    the next batch's transaction, COPYs its rows and makes their canonical JSON and hashes,
    so two server processes work at once. Batches still write and commit one after another, so
    a later batch's rows have later `loaded_at` and `id`. A batch that fails stops the run
    (LoadFailed, after the batches before it landed); the one staged behind it is rolled
    back, leaving no trace.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="salesops-copy") as pool:
        ahead: Future[_Staged] | None = None
        try:
            for batch in batches:
                previous, ahead = ahead, pool.submit(_stage_csv, engine, batch)
                if previous is not None:
                    done = previous.result()
                    yield done.batch, _finish_csv(done)  # type: ignore[misc]
            if ahead is not None:
                last, ahead = ahead.result(), None
                yield last.batch, _finish_csv(last)  # type: ignore[misc]
        finally:
            if ahead is not None:  # a failure, or the caller stopped: roll the staged one back
                with suppress(Exception):
                    ahead.result().conn.close()


@dataclass
class _Staged:
    """A CSV batch in its open transaction: its `ops.load_batches` row written and, unless
    PostgreSQL reads it otherwise than the parser (`copied` False), its raw rows in `_raw`."""

    batch: CsvBatchLike
    batch_id: uuid.UUID
    conn: sa.Connection
    copied: bool = False
    error: Exception | None = None


def _stage_csv(engine: sa.Engine, batch: CsvBatchLike) -> _Staged:
    batch_id, conn = _begin_batch(engine, batch.source, batch.entity, batch.origin)
    staged = _Staged(batch, batch_id, conn)
    try:
        staged.copied = _plain(batch) and _copy_csv(conn, batch)
    except Exception as exc:  # noqa: BLE001 - recorded as the batch's failure when finished
        staged.error = exc
    return staged


def _finish_csv(staged: _Staged,
                after: Callable[[sa.Connection, LoadResult], None] | None = None) -> LoadResult:
    batch = staged.batch

    def load(conn: sa.Connection, batch_id: uuid.UUID) -> LoadResult:
        if staged.error is not None:
            raise staged.error
        if staged.copied:
            return _insert_csv(conn, batch_id, batch)
        return _load(conn, batch_id, batch.source, batch.entity, batch.records, batch.rejects)

    return _end_batch(staged.conn, staged.batch_id, batch.source, batch.entity, batch.origin,
                      load, after)


def _in_batch(engine: sa.Engine, source: str, entity: str, origin: str | None,
              load: Callable[[sa.Connection, uuid.UUID], LoadResult],
              after: Callable[[sa.Connection, LoadResult], None] | None) -> LoadResult:
    """Run `load` as one batch: one transaction with its `ops.load_batches` row."""
    batch_id, conn = _begin_batch(engine, source, entity, origin)
    return _end_batch(conn, batch_id, source, entity, origin, load, after)


def _begin_batch(engine: sa.Engine, source: str, entity: str, origin: str | None
                 ) -> tuple[uuid.UUID, sa.Connection]:
    """A new batch's id and its open transaction, its `ops.load_batches` row written first:
    the raw rows carry the id, and this row commits with them or not at all."""
    if (source, entity) not in RAW_TABLES:
        raise LoadFailed(f"no raw table for source {source!r}, entity {entity!r}")
    batch_id = uuid.uuid4()
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
        rows = (row for record in records if (row := _row(record, late_rejects)) is not None)
        copied, loaded = _insert_new(cur, table, batch_id, source, rows)
        rejected = _copy_rejects(cur, batch_id, source, entity, [*rejects, *late_rejects])
    return LoadResult(batch_id, source, entity, copied + rejected, loaded, copied - loaded,
                      rejected)


def _plain(batch: CsvBatchLike) -> bool:
    """Column names that can name the temporary table's columns, one each, and the key."""
    names = list(batch.columns)
    return (batch.key in names and "source_key" not in names and len(set(names)) == len(names)
            and all(0 < len(name.encode()) < 64 for name in names))  # PostgreSQL's NAMEDATALEN


def _copy_csv(conn: sa.Connection, batch: CsvBatchLike) -> bool:
    """Stage the batch's raw rows (key, hash, JSON text) in `_raw`, a temporary table,
    after a savepoint; False (rolled back to it) when PostgreSQL reads the rows otherwise
    than the parser: a COPY error (column count, encoding, quoting), another row count, or a
    key `load_batch` would trim or reject.

    The rows are COPY'd as they are into `_csv`, a temporary table whose columns are the
    CSV's names in sorted order, so that `row_to_json` spells `canonical_json` of the row:
    keys sorted, compact, with orjson's string escapes (`\\n`, `\\"`, `\\u001f`); its
    SHA-256 is the content hash `load_batch` takes, so a file loaded either way is the same
    rows. This is about half of the server's work on a batch, done before its turn to write
    the raw table comes (`load_csv_batches` does it for the next batch meanwhile); parsing
    the JSON into jsonb is the other half's, with the writing (measured: docs/benchmarks.md).
    """
    driver: psycopg.Connection = conn.connection.driver_connection  # type: ignore[assignment]
    in_file = sql.SQL(", ").join(map(sql.Identifier, batch.columns))
    key = sql.Identifier(batch.key)
    # Only keys that `_row`'s strip() would leave as they are: printable ASCII at both ends.
    usable = sql.SQL("{k} ~ '^[!-~]' and {k} ~ '[!-~]$'").format(k=key)
    with driver.cursor() as cur:
        cur.execute("savepoint _csv")
        cur.execute(sql.SQL("create temp table _csv ({}) on commit drop").format(
            sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(name))
                               for name in sorted(batch.columns))))
        try:
            with cur.copy(sql.SQL(
                    "copy _csv ({cols}) from stdin with (format csv, delimiter {d}, "
                    "force_not_null ({cols}), encoding 'UTF8')").format(
                    cols=in_file, d=sql.Literal(batch.delimiter))) as copy:
                copy.write(batch.data)
            copied = cur.rowcount == batch.rows
        except psycopg.errors.DataError:
            copied = False
        if copied:
            cur.execute(sql.SQL(
                "create temp table _raw on commit drop as select {k} as source_key, "
                "encode(sha256(convert_to(j, 'UTF8')), 'hex') as content_hash, j from ("
                "select {k}, row_to_json(_csv)::text as j from _csv where {usable} offset 0) r"
            ).format(k=key, usable=usable))
            copied = cur.rowcount == batch.rows
        cur.execute("drop table _csv; release savepoint _csv" if copied
                    else "rollback to savepoint _csv")
    return copied


def _insert_csv(conn: sa.Connection, batch_id: uuid.UUID, batch: CsvBatchLike) -> LoadResult:
    """The staged raw rows into the raw table, each record parsed into jsonb on the way.
    Optimistic: one INSERT ... SELECT, what a batch of new records needs; if any is there
    already (the primary key says so), that is rolled back to its savepoint and the rows go
    in with `on conflict do nothing`."""
    driver: psycopg.Connection = conn.connection.driver_connection  # type: ignore[assignment]
    insert = sql.SQL(
        "insert into {t} (batch_id, source, source_key, content_hash, record) "
        "select {b}, {s}, source_key, content_hash, j::jsonb from _raw"
    ).format(t=sql.Identifier("raw", raw_table_name(batch.source, batch.entity)),
             b=sql.Literal(batch_id), s=sql.Literal(batch.source))
    with driver.cursor() as cur:
        try:
            with driver.transaction():
                cur.execute(insert)
            return LoadResult(batch_id, batch.source, batch.entity, batch.rows, batch.rows, 0,
                              0)
        except psycopg.errors.UniqueViolation:
            pass
        cur.execute(insert + sql.SQL(" on conflict (source_key, content_hash) do nothing"))
        return LoadResult(batch_id, batch.source, batch.entity, batch.rows, cur.rowcount,
                          batch.rows - cur.rowcount, 0)


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
