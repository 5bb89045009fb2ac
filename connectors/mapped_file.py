"""Any CRM's export, CSV or XLSX, read through a YAML column mapping (docs/mapping.md).

Each row becomes a record in the canonical shape of the mapping's entity: every canonical
field (null when no column maps to it), the columns the mapping does not name under
`extra` as they were, `source_key` and `origin_system` (the mapping's `source`). The row
number is left out of records on purpose: the loader hashes the record, and a re-export with
rows in another order must not make new versions of unchanged records.
A row whose key is missing or repeated, or whose value does not convert, is rejected with
the row, column, value and expected type; for an `optional` field the value becomes null
instead and the reason goes to the record's `_warnings`.

Batches are `source="mapped"`, `entity=<entity>`, so they load into `raw.mapped__<entity>`.
CSV is read with the csv module rather than pandas so that a malformed line can be
quarantined with its exact row and line (pandas' `on_bad_lines` drops it or loses its
position); both readers stream, holding one batch at a time.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors.mapping.convert import ConversionError, as_text, convert, json_value, map_value
from connectors.mapping.fields import FIELDS
from connectors.mapping.spec import ROW_NUMBER, Mapping, MappingError, load_mapping
from connectors.records import DEFAULT_CHUNK, RecordBatch, Rejected, chunked
from salesops.errors import SalesopsError

SOURCE = "mapped"

csv.field_size_limit(2**31 - 1)

_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
_XLSX_SUFFIXES = {".xlsx", ".xlsm"}

#: (row number as a spreadsheet counts it, line in the file or None, cells)
_Row = tuple[int, int | None, list[Any]]


class MappedFileError(SalesopsError):
    """A data file that cannot be read with its mapping (missing column, wrong encoding...)."""


def read_mapped(data_path: str | Path, mapping: Mapping | str | Path,
                chunk_size: int = DEFAULT_CHUNK) -> Iterator[RecordBatch]:
    """Stream the file as batches of canonical records and rejects."""
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    path = Path(data_path)
    if not path.is_file():
        raise MappedFileError(f"{path}: no such file")
    kind = mapping.format.type or _kind_from_suffix(path)
    if kind == "csv":
        header, rows, origin = _csv_rows(path, mapping)
    else:
        header, rows, origin = _xlsx_rows(path, mapping)
    items = _records(header, rows, mapping, origin)
    yield from chunked(SOURCE, mapping.entity, origin, items, chunk_size)


def _kind_from_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in _CSV_SUFFIXES:
        return "csv"
    if suffix in _XLSX_SUFFIXES:
        return "xlsx"
    if suffix == ".xls":
        raise MappedFileError(f"{path}: old .xls workbooks are not read; save it as .xlsx or .csv")
    raise MappedFileError(f"{path}: cannot tell the format from {suffix or 'no extension'!r}; "
                          "set format.type to csv or xlsx in the mapping")


def _csv_rows(path: Path, m: Mapping) -> tuple[list[str], Iterator[_Row], str]:
    encoding = "utf-8-sig" if m.format.encoding.replace("_", "-").lower() in (
        "utf-8", "utf8") else m.format.encoding
    origin = str(path)

    def lines() -> Iterator[tuple[int, int, list[str]]]:
        with path.open(encoding=encoding, newline="") as stream:
            reader = csv.reader(stream, delimiter=m.format.delimiter,
                                quotechar=m.format.quotechar)
            row = 0
            try:
                while True:
                    start = reader.line_num + 1
                    try:
                        cells = next(reader)
                    except StopIteration:
                        return
                    except csv.Error as exc:
                        raise MappedFileError(f"{origin}: line {start}: {exc}") from None
                    row += 1
                    yield row, start, cells
            except UnicodeDecodeError as exc:
                raise MappedFileError(
                    f"{origin}: not valid {m.format.encoding} after row {row} ({exc.reason}); "
                    "set format.encoding in the mapping (e.g. latin-1, cp1252)") from None

    stream = lines()
    header: list[str] | None = None
    for row, _, cells in stream:
        if row == m.format.header_row:
            header = [c.strip() for c in cells]
            break
    if header is None:
        raise MappedFileError(f"{origin}: no header row {m.format.header_row} (the file has "
                              "fewer rows)")
    rows = ((row, line, cells) for row, line, cells in stream
            if cells and any(c.strip() for c in cells))
    return header, rows, origin


def _xlsx_rows(path: Path, m: Mapping) -> tuple[list[str], Iterator[_Row], str]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and its own errors
        raise MappedFileError(f"{path}: not a readable XLSX workbook ({exc})") from None
    sheet = m.format.sheet
    names = book.sheetnames
    if sheet is None:
        sheet = names[0]
    elif isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            book.close()
            raise MappedFileError(f"{path}: no sheet number {sheet} (0-based); sheets: {names}")
        sheet = names[sheet]
    elif sheet not in names:
        book.close()
        raise MappedFileError(f"{path}: no sheet {sheet!r}; sheets: {names}")
    origin = f"{path}!{sheet}"
    values = book[sheet].iter_rows(min_row=m.format.header_row, values_only=True)
    first = next(values, None)
    if first is None:
        book.close()
        raise MappedFileError(f"{origin}: no header row {m.format.header_row}")
    cells = [as_text(c).strip() if c is not None else "" for c in first]
    while cells and not cells[-1]:
        cells.pop()
    header = [c or f"column {_letter(i)}" for i, c in enumerate(cells)]

    def rows() -> Iterator[_Row]:
        try:
            for row, raw in enumerate(values, start=m.format.header_row + 1):
                cells = list(raw)
                if any(c is not None and (not isinstance(c, str) or c.strip()) for c in cells):
                    yield row, None, cells
        finally:
            book.close()

    return header, rows(), origin


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _check_header(header: list[str], m: Mapping, origin: str) -> list[str]:
    """Unique column names (a repeated one gets ' (2)'...); mapped and key columns present."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for name in header:
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    for column in [r.column for r in m.rules] + m.key_columns:
        if seen.get(column, 0) > 1:
            raise MappedFileError(f"{origin}: column {column!r} appears {seen[column]} times in "
                                  "the header; the mapping cannot tell which one is meant")
        if column not in seen:
            close = difflib.get_close_matches(column, header, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            if len(header) == 1 and any(d in header[0] for d in ";\t|,"):
                hint += (f" The header is one column, {header[0]!r}: is format.delimiter "
                         "right?")
            raise MappedFileError(f"{origin}: column {column!r} named in the mapping is not in "
                                  f"the file{hint} (columns: {', '.join(header)})")
    return names


def _records(header: list[str], rows: Iterator[_Row], m: Mapping,
             origin: str) -> Iterator[dict[str, Any] | Rejected]:
    names = _check_header(header, m, origin)
    width = len(names)
    index = {name: i for i, name in enumerate(names)}
    missing = frozenset(m.missing)
    mapped = {r.column for r in m.rules}
    extras = [(name, i) for name, i in index.items() if name not in mapped]
    rules = [(rule, index[rule.column]) for rule in m.rules]
    keys = [index[c] for c in m.key_columns]
    canonical = dict.fromkeys(FIELDS[m.entity])
    fmt = m.format
    first_seen: dict[str, int] = {}

    def is_missing(value: Any) -> bool:
        if value is None:
            return True
        return isinstance(value, str) and value.strip() in missing

    def keep(value: Any) -> Any:
        """An unmapped cell as it was, null if missing."""
        if isinstance(value, str):
            return None if value.strip() in missing else value
        return None if value is None else json_value(value)

    for row, line, cells in rows:
        where = f"row {row}" + (f" (line {line})" if line is not None and line != row else "")
        if len(cells) > width and all(is_missing(c) or c == "" for c in cells[width:]):
            cells = cells[:width]
        if len(cells) != width and (line is not None or len(cells) > width):
            yield Rejected(None, f"{where}: {len(cells)} values, the header has {width} columns",
                           _location(row, line, {"values": [json_value(c) for c in cells]}))
            continue
        cells = cells + [None] * (width - len(cells))

        if m.key == ROW_NUMBER:
            key = str(row)
        else:
            parts = [cells[i] for i in keys]
            empty = [c for c, v in zip(m.key_columns, parts, strict=True) if is_missing(v)]
            if empty:
                yield Rejected(None, f"{where}: key column {empty[0]!r} is empty",
                               _location(row, line, {"values": _original(names, cells)}))
                continue
            key = "|".join((as_text(v) or "").strip() for v in parts)
        if key in first_seen:
            yield Rejected(key, f"{where}: duplicate key {key!r} (first at row {first_seen[key]})",
                           _location(row, line, {"values": _original(names, cells)}))
            continue
        first_seen[key] = row

        record: dict[str, Any] = {"source_key": key, "origin_system": m.source}
        record.update(canonical)
        errors: list[str] = []
        warnings: list[str] = []
        for rule, i in rules:
            raw = cells[i]
            value = None if is_missing(raw) else raw.strip() if isinstance(raw, str) else raw
            if value is not None and rule.values is not None:
                value = map_value(value, rule.values)
            if value is None:
                if rule.required:
                    errors.append(f"column {rule.column!r} -> {rule.field}: is required but "
                                  "empty")
                continue
            try:
                record[rule.field] = convert(value, rule.type, rule.formats, fmt.decimal,
                                             fmt.thousands, rule.scale)
            except ConversionError as exc:
                problem = f"column {rule.column!r} -> {rule.field}: {exc}"
                if rule.optional:
                    warnings.append(f"{problem}; set to null")
                else:
                    errors.append(problem)
        if errors:
            yield Rejected(key, f"{where}: " + "; ".join(errors),
                           _location(row, line, {"values": _original(names, cells)}))
            continue
        record["extra"] = {name: keep(cells[i]) for name, i in extras}
        record["_warnings"] = warnings
        yield record


def _original(names: list[str], cells: list[Any]) -> dict[str, Any]:
    return {name: json_value(cell) for name, cell in zip(names, cells, strict=True)}


def _location(row: int, line: int | None, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"row": row}
    if line is not None:
        out["line"] = line
    return out | data


__all__ = ["SOURCE", "MappedFileError", "Mapping", "MappingError", "load_mapping", "read_mapped"]
