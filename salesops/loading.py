"""Bulk loading into `raw`: one batch, one transaction, COPY only.

A batch either lands whole (its `ops.load_batches` row marked loaded, its new rows in the
raw table, its rejects in `ops.rejected_rows`) or not at all, and then its batch row says
failed with the error. A record already loaded (same source key, same content hash) is
counted as a duplicate and adds nothing, so re-loading the same input is harmless.

Connectors hand their batches over as plain arguments; salesops never imports them.
"""

from __future__ import annotations

import csv
import hashlib
import operator
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import orjson
import psycopg
import sqlalchemy as sa
from psycopg import sql
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
    empty, re-versions nothing. Migration 9d4b7e1a3c58 computes the same in SQL; changing
    it re-versions every record.
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
    the rows go as they are, each line prefixed with its lineage (`_prepare_csv`), by one
    COPY that PostgreSQL parses; records already stored are left out first
    (`_new_rows`). A batch that Python's csv reads otherwise than a plain split or
    that cannot be stored as it is (not UTF-8, a NUL, a row of the wrong width, an empty
    key), and any batch for a jsonb raw table, is loaded from the parser's records and
    rejects, so its rejects keep their file and line.
    """
    return _write_csv(engine, _prepare_csv(batch), after)


def load_csv_batches(engine: sa.Engine, batches: Iterable[B]) -> Iterator[tuple[B, LoadResult]]:
    """Load each batch as `load_csv_batch` does, in order, two at a time: while a second
    thread writes a batch (its transaction, COPY and commit, mostly waiting on the server),
    this one reads, splits and hashes the next. Batches still write and commit one after
    another. A batch that fails stops the run (LoadFailed, after the batches before it
    landed); the next one is never written, nor is one after the caller stops.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="salesops-copy") as pool, _prompt_writer():
        writing: tuple[B, Future[LoadResult]] | None = None
        for batch in batches:
            prepared = _prepare_csv(batch)
            if writing is not None:
                yield writing[0], writing[1].result()
            writing = batch, pool.submit(_write_csv, engine, prepared)
        if writing is not None:
            yield writing[0], writing[1].result()


@contextmanager
def _prompt_writer(interval: float = 0.0005) -> Iterator[None]:
    """Let the writing thread have the GIL sooner while batches are prepared beside it.

    It needs the GIL for each 128 KB it hands to libpq; at Python's default switch interval
    (5 ms) the preparing thread keeps it for as long as the server takes to read a
    megabyte, and the server waits. Measured at 1,000,000 rows: 9.2-10.0 s at 5 ms,
    7.4-8.1 s at 0.5 ms. The interval is the process's; the old one comes back after.
    """
    old = sys.getswitchinterval()
    sys.setswitchinterval(min(old, interval))
    try:
        yield
    finally:
        sys.setswitchinterval(old)


@dataclass
class _PreparedCsv:
    """A CSV batch read for COPY: `lines` (text, one a row, lineage first) with their source
    keys and content hashes; `lines` None when the batch is loaded from its records. Also
    made here, off the writing thread: the lines as the bytes COPY takes (`data`)."""

    batch: CsvBatchLike
    batch_id: uuid.UUID
    lines: list[str] | None = None
    keys: list[str] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    duplicates: int = 0
    data: bytes = b""


def _prepare_csv(batch: CsvBatchLike) -> _PreparedCsv:
    """Split and hash a batch's rows in Python, leaving their bytes as they are.

    A row without a quote is split at the delimiter; one with quotes (possibly over several
    lines) is read by the csv module. Its content hash is `fields_hash` of its fields
    (names from the header), as `load_batch` takes it, whatever the file's column order: a
    split row's values are put in sorted-name order by one itemgetter and formatted into a
    template of their names (one per pattern of empty fields), with no dict or JSON per row.
    Each line gets the batch id, source, source key and hash in front, in the file's own CSV
    dialect, so COPY reads the row exactly as Python did (the connector sent only rows that
    RFC 4180 quotes). A row repeated within the batch is counted and left out.
    """
    prepared = _PreparedCsv(batch, uuid.uuid4())
    names = list(batch.columns)
    if (not has_record_columns(batch.source) or batch.key not in names
            or len(set(names)) != len(names) or not all(map(_column_name, names))):
        return prepared
    try:
        text = batch.data.decode("utf-8")
    except UnicodeDecodeError:  # the parser reads such lines as Windows-1252
        return prepared
    if "\x00" in text:
        return prepared
    d, ki, width = batch.delimiter, names.index(batch.key), len(names)
    order = sorted(range(width), key=names.__getitem__)
    labels = [names[i].replace("%", "%%") + "\0" for i in order]  # `name NUL` before a value
    pick = operator.itemgetter(*order) if width > 1 else (lambda row: (row[0],))
    full = "".join(label + "%s\0" for label in labels)
    # a row with empty fields: a form per shape that prints nothing of those ("%.0s")
    forms: dict[tuple[bool, ...], str] = {}
    prefix = f"{prepared.batch_id}{d}{batch.source}{d}"
    lines: list[str] = []
    keys: list[str] = []
    digests: list[str] = []
    seen: set[str] = set()
    sha256 = hashlib.sha256
    crlf = "\r" in text
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
    rows = iter(parts)
    for line in rows:
        if '"' in line:
            while line.count('"') % 2:  # a quoted field goes on over the next line
                more = next(rows, None)
                if more is None:
                    return prepared
                line += "\n" + more
            if crlf and line.endswith("\r"):
                line = line[:-1]
            fields = next(csv.reader([line], delimiter=d), [])
            if len(fields) != width:
                return prepared
            digest = fields_hash(dict(zip(names, fields, strict=True)))
        else:
            if crlf and line.endswith("\r"):
                line = line[:-1]
            fields = line.split(d)
            if len(fields) != width:
                return prepared
            values = pick(fields)
            if "" in values:
                shape = tuple(map(bool, values))
                if (form := forms.get(shape)) is None:
                    form = forms[shape] = "".join(
                        label + "%s\0" if kept else "%.0s"
                        for label, kept in zip(labels, shape, strict=True))
                digest = sha256((form % values).encode()).hexdigest()[:32]
            else:
                digest = sha256((full % values).encode()).hexdigest()[:32]
        key = fields[ki].strip()
        if not key:
            return prepared
        if digest in seen:  # the same record: the key is its own field
            prepared.duplicates += 1
            continue
        seen.add(digest)
        keys.append(key)
        digests.append(digest)
        if not key.isalnum():
            key = '"' + key.replace('"', '""') + '"'
        lines.append(f"{prefix}{key}{d}{digest}{d}{line}\n")
    if len(lines) + prepared.duplicates != batch.rows:
        return prepared
    prepared.lines, prepared.keys, prepared.digests = lines, keys, digests
    prepared.data = "".join(lines).encode()
    return prepared


def _write_csv(engine: sa.Engine, prepared: _PreparedCsv,
               after: Callable[[sa.Connection, LoadResult], None] | None = None) -> LoadResult:
    """One prepared CSV batch as one batch: its new rows COPYed, or its records loaded.

    Optimistic, as `_insert_new`: the lines go straight into the raw table, whose primary key
    (source key, content hash) finds a record stored already at no extra cost; only then is
    that COPY rolled back to its savepoint and the stored versions of the batch's keys
    looked up (`_stored_rows`), so a batch of new records costs one COPY and nothing more.
    """
    batch = prepared.batch

    def load(conn: sa.Connection, batch_id: uuid.UUID) -> LoadResult:
        if prepared.lines is None:
            return _load(conn, batch_id, batch.source, batch.entity, batch.records,
                         batch.rejects)
        driver: psycopg.Connection = conn.connection.driver_connection  # type: ignore[assignment]
        names = list(batch.columns)
        table = raw_table_name(batch.source, batch.entity)
        statement = sql.SQL(
            "copy {t} (batch_id, source, source_key, content_hash, {f}) from stdin "
            "with (format csv, delimiter {d}, force_not_null ({f}), encoding 'UTF8')"
        ).format(t=sql.Identifier("raw", table), f=sql.SQL(", ").join(map(sql.Identifier, names)),
                 d=sql.Literal(batch.delimiter))
        with driver.cursor() as cur:
            _lock_table(cur, table, names)
            try:
                with driver.transaction(), cur.copy(statement) as copy:
                    copy.write(prepared.data)
                loaded = len(prepared.lines)
            except psycopg.errors.UniqueViolation:
                keep = _stored_rows(cur, table, prepared.keys, prepared.digests,
                                    _key_array(prepared.keys))
                with cur.copy(statement) as copy:
                    copy.write("".join(prepared.lines[i] for i in keep).encode())
                loaded = len(keep)
        return LoadResult(batch_id, batch.source, batch.entity, batch.rows, loaded,
                          batch.rows - loaded, 0)

    batch_id, conn = _begin_batch(engine, batch.source, batch.entity, batch.origin,
                                  prepared.batch_id)
    return _end_batch(conn, batch_id, batch.source, batch.entity, batch.origin, load, after)


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
    keys = [k for k, _, _ in rows]
    keep = _new_rows(cur, source, entity, list(names), keys, [h for _, h, _ in rows])
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
