"""The mapping file: what it may say, checked by pydantic, and the per-field rules it resolves to.

Every mistake names the key it is under and what is allowed there, so a user can fix the
YAML without reading code. See docs/mapping.md.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from connectors.mapping.fields import FIELDS, TYPE_NAMES, Entity, TypeName
from salesops.errors import SalesopsError

#: `key: row_number` keys rows by their row number instead of a column.
ROW_NUMBER = "row_number"


class MappingError(SalesopsError):
    """A mapping file that cannot be used; the message names the key and what is allowed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [k for k in data if k not in cls.model_fields]
            if unknown:
                raise ValueError(f"unknown key {unknown[0]!r}; allowed keys: "
                                 f"{', '.join(cls.model_fields)}")
        return data


class FileFormat(_Strict):
    """How to read the file; `type` defaults to the file's extension."""

    type: Literal["csv", "xlsx"] | None = None
    delimiter: str = Field(",", min_length=1, max_length=1)
    quotechar: str = Field('"', min_length=1, max_length=1)
    encoding: str = "utf-8"
    sheet: str | int | None = None
    header_row: int = Field(1, ge=1)
    decimal: str = Field(".", min_length=1, max_length=1)
    thousands: str | None = Field(None, min_length=1, max_length=1)

    @model_validator(mode="after")
    def _encoding_exists(self) -> FileFormat:
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(f"encoding {self.encoding!r} is unknown to Python "
                             "(e.g. utf-8, latin-1, cp1252, utf-16)") from None
        return self


class ColumnTarget(_Strict):
    """The long form of a column's target: `{field: amount, type: float, optional: true}`."""

    field: str
    type: TypeName | None = None
    format: list[str] | None = None
    values: dict[str, Any] | None = None
    optional: bool = False
    required: bool = False
    scale: Decimal | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if isinstance(data.get("format"), str):
                data["format"] = [data["format"]]
            if isinstance(data.get("values"), dict):
                data["values"] = _value_map(data["values"])
        return data


@dataclass(frozen=True)
class FieldRule:
    """Everything needed to turn one cell into one canonical field."""

    field: str
    column: str
    type: str
    formats: tuple[str, ...] = ()
    values: dict[str, Any] | None = None
    optional: bool = False
    required: bool = False
    scale: Decimal | None = None


class Mapping(_Strict):
    """One file of one CRM to one canonical entity."""

    source: str = Field(min_length=1)
    entity: Entity
    format: FileFormat = FileFormat()
    key: str | list[str]
    missing: list[str] = [""]
    columns: dict[str, list[ColumnTarget]]
    values: dict[str, dict[str, Any]] = {}
    dates: dict[str, list[str]] = {}
    types: dict[str, TypeName] = {}
    optional: list[str] = []
    required: list[str] = []
    #: Source columns filled in after a lead is contacted (a status tag, the rep's rating):
    #: read and kept like any column, but never used as a model feature (they leak the outcome).
    after_contact: list[str] = []

    _rules: list[FieldRule] = PrivateAttr(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("a mapping file must be a YAML mapping (key: value lines) with at "
                             "least source, entity, key and columns")
        data = dict(data)
        if isinstance(data.get("missing"), list):
            data["missing"] = ["" if v is None else _scalar_text(v) for v in data["missing"]]
        if isinstance(data.get("values"), dict):
            data["values"] = {f: _value_map(m) if isinstance(m, dict) else m
                              for f, m in data["values"].items()}
        if isinstance(data.get("dates"), dict):
            data["dates"] = {f: [v] if isinstance(v, str) else v
                             for f, v in data["dates"].items()}
        if isinstance(data.get("columns"), dict):
            data["columns"] = {_scalar_text(c): _targets(c, t) for c, t in data["columns"].items()}
        return data

    @model_validator(mode="after")
    def _resolve(self) -> Mapping:
        self._rules = _resolve_rules(self)
        if isinstance(self.key, list) and not self.key:
            raise ValueError("key: give a column, a list of columns or row_number")
        return self

    @property
    def rules(self) -> list[FieldRule]:
        return self._rules

    @property
    def key_columns(self) -> list[str]:
        """Columns forming the source key; empty for `key: row_number`."""
        if self.key == ROW_NUMBER:
            return []
        return [self.key] if isinstance(self.key, str) else list(self.key)


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file; MappingError (a SalesopsError) says what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"cannot read mapping {path}: {exc.strerror or exc}") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise MappingError(f"{path} is not valid YAML: {exc}") from None
    return parse_mapping(data, where=str(path))


def parse_mapping(data: Any, where: str = "mapping") -> Mapping:
    """Check an already-parsed mapping (a dict, as from YAML)."""
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(err) for err in exc.errors()]
        raise MappingError(f"{where}: " + "; ".join(problems)) from None


def _describe(err: Any) -> str:
    loc = ".".join(str(p) for p in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "missing":
        msg = "is required"
    elif err["type"] == "literal_error" or err["type"].endswith("_type"):
        value = err.get("input")
        if not isinstance(value, dict | list):
            msg = f"{msg}; got {value!r}"
    return f"{loc}: {msg}" if loc else msg


def _resolve_rules(m: Mapping) -> list[FieldRule]:
    allowed = FIELDS[m.entity]
    targets: dict[str, tuple[str, ColumnTarget]] = {}
    for column, items in m.columns.items():
        for target in items:
            if target.field not in allowed:
                raise ValueError(
                    f"columns.{column!r}: {target.field!r} is not a {m.entity} field; "
                    f"{m.entity} fields are: {', '.join(allowed)} (unmapped columns are kept "
                    "under extra anyway)")
            if target.field in targets:
                raise ValueError(f"columns.{column!r}: field {target.field!r} is already mapped "
                                 f"from column {targets[target.field][0]!r}; a field takes one "
                                 "column")
            targets[target.field] = (column, target)

    for section in ("values", "dates", "types", "optional", "required"):
        for name in getattr(m, section):
            if name not in targets:
                where = f"{section}.{name}" if section not in ("optional", "required") else section
                hint = (f"not a {m.entity} field" if name not in allowed
                        else "not mapped from any column")
                raise ValueError(f"{where}: {name!r} is {hint}; {section} are keyed by the "
                                 f"canonical fields the columns map to: {', '.join(targets)}")

    rules = []
    for name, (column, t) in targets.items():
        def pick(attr: str, top: Any, t: ColumnTarget = t, name: str = name,
                 column: str = column) -> Any:
            own = getattr(t, attr)
            if own not in (None, False) and top not in (None, False):
                raise ValueError(f"{name}: {attr} is set both under columns.{column!r} and "
                                 f"in the top-level section; keep one")
            return own if own not in (None, False) else top

        kind = pick("type", m.types.get(name)) or allowed[name]
        formats = pick("format", m.dates.get(name)) or []
        if formats and kind not in ("date", "datetime"):
            raise ValueError(f"dates.{name}: {name} is a {kind} field; date formats apply to "
                             f"date and datetime fields (set types.{name}: date to change that)")
        for fmt in formats:
            if "%" not in fmt:
                raise ValueError(f"dates.{name}: {fmt!r} is not a strftime format "
                                 "(e.g. '%d-%m-%Y', '%m/%d/%Y %H:%M')")
        if t.scale is not None and kind not in ("int", "float"):
            raise ValueError(f"columns.{column!r}: scale applies to int and float fields, "
                             f"{name} is {kind}")
        optional = pick("optional", name in m.optional)
        required = pick("required", name in m.required)
        if optional and required:
            raise ValueError(f"{name}: a field cannot be both optional and required")
        rules.append(FieldRule(name, column, kind, tuple(formats),
                               pick("values", m.values.get(name)), bool(optional),
                               bool(required), t.scale))
    return rules


def _targets(column: Any, target: Any) -> list[Any]:
    """`field`, `{field: ...}` or a list of those -> a list of long forms."""
    items = target if isinstance(target, list) else [target]
    out = []
    for item in items:
        if isinstance(item, str):
            out.append({"field": item})
        elif isinstance(item, dict):
            out.append(item)
        else:
            raise ValueError(f"columns.{column!r}: give a canonical field name, "
                             "{field: ..., type: ..., optional: ...} or a list of those; "
                             f"got {item!r}")
    if not out:
        raise ValueError(f"columns.{column!r}: maps to nothing (leave it out to keep it in extra)")
    return out


def _scalar_text(value: Any) -> Any:
    """YAML reads `1` and `2.5` as numbers; cells are text, so compare as text."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return value


def _value_map(mapping: dict[Any, Any]) -> dict[str, Any]:
    return {"" if k is None else _scalar_text(k): v for k, v in mapping.items()}


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false are booleans, so `Yes: true` keeps the key 'Yes'
    and `NO` (Norway) stays a country code."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))

__all__ = ["ROW_NUMBER", "TYPE_NAMES", "FieldRule", "Mapping", "MappingError", "load_mapping",
           "parse_mapping"]
