"""The quarantine, for people: list rejected rows, export them to fix, replay the fixes.

A replay loads the fixed records as a new batch and, in that batch's transaction, marks
resolved exactly the rejects whose fixed record landed; a record that is still what was
loaded before adds nothing and its reject stays open.

Exported cells that a spreadsheet would run as a formula (`=cmd|' /C calc'!A0`, `+`, `-`,
`@`, tab, carriage return: the OWASP list) are prefixed with a single quote, and the quote
is removed again when the file comes back, so a payload is never re-exported live.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from salesops.errors import SalesopsError
from salesops.loading import LoadResult, load_batch

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Columns of an exported file that describe the reject rather than hold the record.
META = ("_reject_id", "_source", "_entity", "_reason")


@dataclass(frozen=True)
class Reject:
    id: int
    batch_id: uuid.UUID | None
    source: str
    entity: str
    stage: str
    source_key: str | None
    reason: str
    record: dict[str, Any] | None
    rejected_at: datetime
    resolved_at: datetime | None


def list_rejects(engine: sa.Engine, source: str | None = None, batch: uuid.UUID | None = None,
                 ids: Sequence[int] = (), include_resolved: bool = False,
                 limit: int | None = None) -> list[Reject]:
    """Rejected rows, oldest first; open ones only unless `include_resolved`."""
    where = ["true"]
    params: dict[str, Any] = {}
    if source:
        where.append("source = :source")
        params["source"] = source
    if batch:
        where.append("batch_id = :batch")
        params["batch"] = batch
    if ids:
        where.append("id = any(:ids)")
        params["ids"] = list(ids)
    if not include_resolved:
        where.append("resolved_at is null")
    sql = ("select id, batch_id, source, entity, stage, source_key, reason, record, rejected_at,"
           " resolved_at from ops.rejected_rows where " + " and ".join(where) + " order by id")
    if limit:
        sql += f" limit {int(limit)}"
    with engine.connect() as conn:
        return [Reject(*row) for row in conn.execute(sa.text(sql), params)]


def escape_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def unescape_cell(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:2] in FORMULA_STARTS else value


def write_csv(rejects: Iterable[Reject], stream: IO[str]) -> int:
    """The rejects as a CSV to fix: META columns, then the record's fields (nested values
    as JSON). Returns the number of rows written."""
    rows = list(rejects)
    fields: dict[str, None] = {}
    for reject in rows:
        fields.update(dict.fromkeys(reject.record or {}))
    writer = csv.writer(stream)
    writer.writerow([*META, *fields])
    for reject in rows:
        record = reject.record or {}
        writer.writerow([str(reject.id), reject.source, reject.entity, escape_cell(reject.reason),
                         *(escape_cell(_cell(record.get(name))) for name in fields)])
    return len(rows)


def read_fixed_csv(path: Path) -> dict[int, dict[str, Any]]:
    """reject id -> fixed record, from a file `write_csv` wrote and a person edited.

    Empty cells become null; cells holding a JSON object or list are decoded.
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            reader = csv.DictReader(stream)
            if not reader.fieldnames or "_reject_id" not in reader.fieldnames:
                raise SalesopsError(f"{path} has no _reject_id column: start from the file "
                                    "`salesops ingest rejects list --out FILE.csv` writes")
            fixed: dict[int, dict[str, Any]] = {}
            for row in reader:
                line = reader.line_num
                try:
                    reject_id = int(row["_reject_id"])
                except (TypeError, ValueError):
                    raise SalesopsError(f"{path} line {line}: _reject_id "
                                        f"{row['_reject_id']!r} is not a number") from None
                if reject_id in fixed:
                    raise SalesopsError(f"{path} line {line}: reject {reject_id} appears twice")
                fixed[reject_id] = {name: _value(value) for name, value in row.items()
                                    if name not in META and name is not None}
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SalesopsError(f"cannot read {path}: {exc}") from exc
    return fixed


def replay(engine: sa.Engine, source: str, entity: str,
           items: Sequence[tuple[int, Mapping[str, Any]]]) -> tuple[LoadResult, int]:
    """Load `(reject id, fixed record with source_key)` pairs as one batch; return its
    result and how many rejects it resolved."""
    ids = [reject_id for reject_id, _ in items]
    keys = [str(record["source_key"]) for _, record in items]
    resolved = 0

    def mark(conn: sa.Connection, result: LoadResult) -> None:
        nonlocal resolved
        resolved = conn.execute(sa.text(
            f"update ops.rejected_rows r set resolved_at = now(), resolved_batch_id = :b "
            f"from unnest(cast(:ids as bigint[]), cast(:keys as text[])) m(id, key) "
            f"where r.id = m.id and r.resolved_at is null and exists ("
            f"select 1 from raw.{source}__{entity} w where w.batch_id = :b "
            f"and w.source_key = m.key)"),
            {"b": result.batch_id, "ids": ids, "keys": keys}).rowcount

    result = load_batch(engine, source, entity, f"replay of rejects {_span(ids)}",
                        [record for _, record in items], after=mark)
    return result, resolved


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _value(cell: str | None) -> Any:
    if cell is None or cell == "":
        return None
    cell = unescape_cell(cell)
    if cell[:1] in "{[":
        try:
            return json.loads(cell)
        except ValueError:
            pass
    return cell


def _span(ids: Sequence[int]) -> str:
    shown = ", ".join(map(str, sorted(ids)[:5]))
    return shown + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
