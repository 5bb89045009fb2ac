"""Audience segments: a saved filter over contacts, as JSON, compiled to SQLAlchemy.

A segment is a condition, or `{"all": [...]}` / `{"any": [...]}` / `{"not": {...}}` of
conditions, nested freely:

    {"all": [{"field": "lifecycle_stage", "op": "in", "value": ["mql", "sql"]},
             {"field": "account.industry", "op": "eq", "value": "Software"},
             {"any": [{"field": "title", "op": "contains", "value": "head"},
                      {"field": "title", "op": "contains", "value": "vp"}]}]}

Only the fields in FIELDS and the operators in OPS exist; values are bound parameters. A
segment is never SQL, so it cannot reach another table or inject anything. `{}` is every
contact. Whatever the segment says, merged-away and deleted contacts and contacts without
an address are never in an audience; consent is applied by the sender, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from salesops.domain.errors import InvalidInput
from salesops.models import Account, Contact

FIELDS: dict[str, sa.ColumnElement] = {
    "first_name": Contact.first_name, "last_name": Contact.last_name,
    "email": Contact.email, "title": Contact.title,
    "lifecycle_stage": Contact.lifecycle_stage, "owner_id": Contact.owner_id,
    "source": Contact.source, "created_at": Contact.created_at,
    "account_id": Contact.account_id,
    "account.name": Account.name, "account.industry": Account.industry,
    "account.segment": Account.segment, "account.country": Account.country,
    "account.employees": Account.employees, "account.is_customer": Account.is_customer,
}

_SCALAR = (str, int, float, bool)


def _scalar(value: Any) -> Any:
    if not isinstance(value, _SCALAR):
        raise InvalidInput(f"audience: value {value!r} must be a string, number or boolean",
                           field="audience", code="invalid_segment")
    return value


def _list(value: Any) -> list:
    if not isinstance(value, list) or not value:
        raise InvalidInput("audience: operators in and not_in need a non-empty list value",
                           field="audience", code="invalid_segment")
    return [_scalar(v) for v in value]


def _text(value: Any) -> str:
    return str(_scalar(value)).replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")


OPS: dict[str, Callable[[sa.ColumnElement, Any], ColumnElement[bool]]] = {
    "eq": lambda c, v: c == _scalar(v),
    "ne": lambda c, v: c.is_distinct_from(_scalar(v)),
    "lt": lambda c, v: c < _scalar(v),
    "lte": lambda c, v: c <= _scalar(v),
    "gt": lambda c, v: c > _scalar(v),
    "gte": lambda c, v: c >= _scalar(v),
    "in": lambda c, v: c.in_(_list(v)),
    "not_in": lambda c, v: sa.or_(c.is_(None), c.not_in(_list(v))),
    "contains": lambda c, v: c.ilike(f"%{_text(v)}%", escape="\\"),
    "starts_with": lambda c, v: c.ilike(f"{_text(v)}%", escape="\\"),
    "is_null": lambda c, v: c.is_(None) if v in (True, None) else c.is_not(None),
}


def compile_segment(segment: dict | None) -> ColumnElement[bool]:
    """The segment as a WHERE clause over contacts (joined to their account)."""
    return _compile(segment or {}, "audience")


def _compile(node: Any, where: str) -> ColumnElement[bool]:
    if not isinstance(node, dict):
        raise InvalidInput(f"{where}: expected an object, got {node!r}", field="audience",
                           code="invalid_segment")
    if not node:
        return sa.true()
    if set(node) == {"all"} or set(node) == {"any"}:
        key = next(iter(node))
        parts = node[key]
        if not isinstance(parts, list):
            raise InvalidInput(f"{where}.{key}: expected a list of conditions",
                               field="audience", code="invalid_segment")
        clauses = [_compile(p, f"{where}.{key}[{i}]") for i, p in enumerate(parts)]
        if not clauses:
            return sa.true() if key == "all" else sa.false()
        return sa.and_(*clauses) if key == "all" else sa.or_(*clauses)
    if set(node) == {"not"}:
        return sa.not_(_compile(node["not"], f"{where}.not"))
    if {"field", "op"} <= set(node) <= {"field", "op", "value"}:
        field, op = node["field"], node["op"]
        if field not in FIELDS:
            raise InvalidInput(f"{where}: unknown field {field!r}; one of: "
                               f"{', '.join(FIELDS)}", field="audience", code="invalid_segment")
        if op not in OPS:
            raise InvalidInput(f"{where}: unknown op {op!r}; one of: {', '.join(OPS)}",
                               field="audience", code="invalid_segment")
        if "value" not in node and op != "is_null":
            raise InvalidInput(f"{where}: op {op!r} needs a value", field="audience",
                               code="invalid_segment")
        return OPS[op](FIELDS[field], node.get("value"))
    raise InvalidInput(f"{where}: expected {{field, op, value}} or all/any/not, got keys "
                       f"{sorted(node)}", field="audience", code="invalid_segment")


def audience_query(segment: dict | None) -> sa.Select:
    """Ids and addresses of the live contacts the segment matches."""
    return (sa.select(Contact.id, Contact.email)
            .select_from(Contact).outerjoin(Account, Account.id == Contact.account_id)
            .where(Contact.deleted_at.is_(None), Contact.merged_into_id.is_(None),
                   Contact.email.is_not(None), compile_segment(segment)))
