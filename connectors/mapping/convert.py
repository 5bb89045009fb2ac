"""Turning one cell (text from a CSV, or a native value from an XLSX) into a typed,
JSON-serialisable value. A failure raises ConversionError with what was expected."""

from __future__ import annotations

import math
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})

#: In a value map, the key that matches any value not listed.
OTHERWISE = "*"


class ConversionError(ValueError):
    """A value that does not fit its field; the message says what was expected."""


def as_text(value: Any) -> str | None:
    """A cell as text, the way a user sees it: 42.0 -> '42', dates in ISO form."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time() else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def json_value(value: Any) -> Any:
    """A cell kept as it was (for `extra`), made JSON-serialisable."""
    if isinstance(value, datetime | date | time):
        return as_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def map_value(value: Any, values: dict[str, Any]) -> Any:
    """Apply a value map: exact text first, then case-insensitive, then `*`; else unchanged."""
    text = as_text(value)
    if text in values:
        return values[text]
    folded = text.casefold() if text is not None else None
    for key, mapped in values.items():
        if key.casefold() == folded:
            return mapped
    return values.get(OTHERWISE, value)


def convert(value: Any, kind: str, formats: tuple[str, ...] = (), decimal: str = ".",
            thousands: str | None = None, scale: Decimal | None = None) -> Any:
    """`value` (not missing) as `kind`; raises ConversionError."""
    if kind == "str":
        return as_text(value)
    if kind == "bool":
        return _bool(value)
    if kind in ("int", "float"):
        number = _number(value, kind, decimal, thousands)
        if scale is not None:
            number = number * scale
        if kind == "int":
            if number != number.to_integral_value():
                raise ConversionError(f"{as_text(value)!r} is not a whole number (int)")
            return int(number)
        return float(number)
    if kind == "date":
        return _datetime(value, formats, "date").date().isoformat()
    if kind == "datetime":
        return _datetime(value, formats, "datetime").isoformat()
    raise ConversionError(f"unknown type {kind!r}")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = as_text(value)
    folded = text.strip().casefold() if text is not None else ""
    if folded in TRUE:
        return True
    if folded in FALSE:
        return False
    raise ConversionError(f"{text!r} is not a bool (true/false, yes/no, 1/0; "
                          "map other labels with values)")


def _number(value: Any, kind: str, decimal: str, thousands: str | None) -> Decimal:
    if isinstance(value, bool):
        raise ConversionError(f"{value!r} is a bool, not {_article(kind)}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConversionError(f"{value!r} is not a finite number ({kind})")
        return Decimal(repr(value))
    text = as_text(value) or ""
    cleaned = text.strip()
    if thousands:
        cleaned = cleaned.replace(thousands, "")
    if decimal != ".":
        cleaned = cleaned.replace(decimal, ".")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ConversionError(f"{text!r} is not {_article(kind)}")
    return number


def _article(kind: str) -> str:
    return "an int" if kind == "int" else "a float"


def _datetime(value: Any, formats: tuple[str, ...], kind: str) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    text = (as_text(value) or "").strip()
    found: dict[datetime, str] = {}
    for fmt in formats:
        try:
            found.setdefault(datetime.strptime(text, fmt), fmt)
        except ValueError:
            continue
    if len(found) > 1:  # 03/04/2025 under both %d/%m/%Y and %m/%d/%Y: never guess
        readings = " or ".join(f"{d:%Y-%m-%d %H:%M} ({f!r})" for d, f in found.items())
        raise ConversionError(f"{text!r} is ambiguous: {readings}; keep only the format the "
                              "file uses")
    if found:
        return next(iter(found))
    if not formats:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    expected = (f"format {' or '.join(repr(f) for f in formats)}" if formats
                else "ISO 8601 form (YYYY-MM-DD; set dates.<field> for other formats)")
    raise ConversionError(f"{text!r} is not a {kind} in {expected}")
