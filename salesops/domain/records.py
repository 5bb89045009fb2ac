"""What every record module shares: permission-scoped reads, keyset-paginated lists with
filters and sorting, and audited create / update / soft delete / restore with optimistic
locking.

A module describes its records once as a `Resource` (the read model's fields, what may
be filtered, sorted and written, whose records they are) and calls these functions; the
rules of `salesops.security.permissions` are applied here and nowhere else.

Cursors are opaque to clients: base64 of the sort key, the last row's sort value and id.
Lists order by (sort value, id) with nulls last, so pages never skip or repeat a row
however many rows share a value. A nearest-first search applies the actor's scope and the
filters to a bounded set of the nearest matches (`_nearest_visible`), with the whole query
as the fallback.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from salesops.domain import audit
from salesops.domain.audit import Actor
from salesops.domain.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StaleVersion,
)
from salesops.security import permissions

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_FILTER_VALUES = 100
#: A nearest-first search reads at most this many nearest matches before the scope and
#: filters (enough for a page when a fiftieth of them or more are the actor's to see).
NEAREST_CANDIDATES = 1000
BIGINT = 2**63


def columns(model: type, names: str) -> dict[str, ColumnElement]:
    """A read model of a table's own columns, by their names."""
    return {n: getattr(model, n) for n in names.split()}


def names(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True)
class Filter:
    """A list filter: `in` takes comma-separated values, `gte`/`lt` one bound."""

    column: ColumnElement
    type: type = str
    op: str = "in"
    user: bool = False  # accepts `me` for the caller's id


@dataclass(frozen=True)
class Resource:
    name: str  # the permission table's and audit log's name, e.g. "contacts"
    entity: str  # the event topics' prefix, e.g. "contact"
    model: type
    fields: Mapping[str, ColumnElement]  # the read model: public name -> expression
    writable: frozenset[str]
    sorts: tuple[str, ...] = ("id", "created_at", "updated_at")
    default_sort: str = "-id"
    filters: Mapping[str, Filter] = field(default_factory=dict)
    owners: tuple[str, ...] = ("owner_id",)  # the first is the one that is assigned
    campaign: str | None = None
    references: Mapping[str, Resource] = field(default_factory=dict)
    joins: Callable[[sa.Select], sa.Select] | None = None
    live: ColumnElement[bool] | None = None  # extra condition on listed records
    # (q, role) -> (match condition, relevance[, distance]); lists sorted by relevance
    # when searching; a distance (ascending: the same order) lets an index read k-nearest
    search: Callable[[str, str], tuple[ColumnElement, ...]] | None = None
    prepare_search: Callable[[Session], None] | None = None  # e.g. set thresholds

    def owner_columns(self) -> list[ColumnElement]:
        return [getattr(self.model, c) for c in self.owners]

    def scope(self, actor: Actor, scope: permissions.Scope) -> ColumnElement[bool]:
        campaign = getattr(self.model, self.campaign) if self.campaign else None
        return permissions.scope_clause(actor.principal, scope, self.owner_columns(), campaign)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


# ------------------------------------------------------------------ reads

def _select(res: Resource, actor: Actor, *, relevance: ColumnElement | None = None
            ) -> sa.Select:
    scope = permissions.require(actor.principal, res.name, "read")
    cols = [expr.label(name) for name, expr in res.fields.items()]
    if relevance is not None:
        cols.append(relevance.label("relevance"))
    query = sa.select(*cols).select_from(res.model)
    if res.joins:
        query = res.joins(query)
    return query.where(res.scope(actor, scope))


def _row(res: Resource, actor: Actor, row: Mapping[str, Any]) -> dict[str, Any]:
    return permissions.redact(actor.role, res.name, {k: row[k] for k in res.fields})


def get(session: Session, actor: Actor, res: Resource, record_id: int, *,
        deleted: bool = False) -> dict[str, Any]:
    """One record as the actor may see it; NotFound when absent or out of their scope."""
    query = _select(res, actor).where(res.model.id == record_id)
    query = query.where(res.model.deleted_at.is_not(None) if deleted
                        else res.model.deleted_at.is_(None))
    row = session.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"No {res.entity} {record_id} (or you may not see it).")
    return _row(res, actor, row)


def encode_cursor(sort: str, value: Any, record_id: int) -> str:
    if isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    elif isinstance(value, decimal.Decimal | float):
        value = repr(float(value)) if isinstance(value, float) else str(value)
    raw = json.dumps([sort, value is None, None if value is None else str(value), record_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[bool, str | None, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key, is_null, value, record_id = json.loads(base64.urlsafe_b64decode(padded))
        if not (isinstance(record_id, int) and isinstance(is_null, bool)
                and (value is None or isinstance(value, str))):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("The cursor is not valid; start again without it.",
                           field="cursor", code="invalid_cursor") from None
    if key != sort:
        raise InvalidInput("The cursor belongs to another sort order; start again without it.",
                           field="cursor", code="invalid_cursor")
    return is_null, value, record_id


def _parse(value: str, kind: type, name: str) -> Any:
    try:
        if kind is int:
            if not -BIGINT <= int(value) < BIGINT:
                raise ValueError
            return int(value)
        if kind is bool:
            return {"true": True, "false": False}[value.lower()]
        if kind is dt.datetime:
            return dt.datetime.fromisoformat(value)
        if kind is dt.date:
            return dt.date.fromisoformat(value)
    except (ValueError, KeyError):
        raise InvalidInput(f"Filter {name}: {value!r} is not a valid {kind.__name__}.",
                           field=name, code="invalid_filter") from None
    if "\x00" in value:
        raise InvalidInput(f"Filter {name}: NUL characters are not allowed.", field=name)
    return value


def _filter(res: Resource, actor: Actor, name: str, raw: str) -> ColumnElement[bool]:
    spec = res.filters[name]
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if not values or len(values) > MAX_FILTER_VALUES:
        raise InvalidInput(f"Filter {name} needs 1 to {MAX_FILTER_VALUES} comma-separated "
                           "values.", field=name, code="invalid_filter")
    parsed = [actor.id if spec.user and v == "me" else _parse(v, spec.type, name)
              for v in values]
    if spec.op == "gte":
        return spec.column >= parsed[0]
    if spec.op == "lt":
        return spec.column < parsed[0]
    return spec.column.in_(parsed)


def list_records(session: Session, actor: Actor, res: Resource, *,
                 filters: Mapping[str, str | None] | None = None, sort: str | None = None,
                 limit: int = DEFAULT_LIMIT, cursor: str | None = None, q: str | None = None,
                 deleted: bool = False) -> Page:
    """A page of the records the actor may see. `filters` maps a filter name to its raw
    value(s); `sort` is a field name, `-` in front for descending; `q` searches."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    match = relevance = None
    distance: list[ColumnElement] = []
    if q is not None and res.search is not None:
        q = " ".join(q.split())
        if not q or "\x00" in q or len(q) > 200:
            raise InvalidInput("q must be 1 to 200 characters (no NUL).", field="q")
        match, relevance, *distance = res.search(q, actor.role)
        if res.prepare_search:
            res.prepare_search(session)
    sort = sort or ("-relevance" if relevance is not None else res.default_sort)
    desc, key = sort.startswith("-"), sort.lstrip("-")
    sortable = {**{s: res.fields[s] for s in res.sorts},
                **({"relevance": relevance} if relevance is not None else {})}
    if key in permissions.hidden_fields(actor.role, res.name):
        raise InvalidInput(f"Cannot sort by {key!r}: your role may not see it.",
                           field="sort", code="invalid_sort")
    if key not in sortable:
        raise InvalidInput(f"Cannot sort by {key!r}; one of: {', '.join(sortable)} "
                           "(prefix - for descending).", field="sort", code="invalid_sort")
    column = sortable[key]

    id_col = res.model.id
    found = [res.model.deleted_at.is_not(None) if deleted else res.model.deleted_at.is_(None)]
    if res.live is not None:
        found.append(res.live)
    if match is not None:
        found.append(match)
    if cursor:
        is_null, value, last_id = decode_cursor(cursor, sort)
        if is_null:
            found += [column.is_(None), id_col > last_id]
        else:
            bound = sa.cast(sa.literal(value), column.type)
            found.append(sa.or_(column.is_(None), column < bound if desc else column > bound,
                                sa.and_(column == bound, id_col > last_id)))
    chosen = [_filter(res, actor, name, raw) for name, raw in (filters or {}).items()
              if raw is not None]
    rows = None
    if key == "relevance" and desc and distance:
        if not deleted and (chosen or permissions.require(
                actor.principal, res.name, "read") != "all"):
            rows = _nearest_visible(session, actor, res, found, chosen, relevance,
                                    distance[0], limit)
        order = distance[0].asc()  # the same order, as a k-nearest index scan reads it
    else:
        order = column.desc().nulls_last() if desc else column.asc().nulls_last()
    if rows is None:
        query = _select(res, actor, relevance=relevance).where(*found, *chosen)
        rows = session.execute(query.order_by(order, id_col).limit(limit + 1)).mappings().all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(sort, last["relevance" if key == "relevance" else key],
                                     last["id"])
    return Page([_row(res, actor, r) for r in rows], next_cursor)


def _nearest_visible(session: Session, actor: Actor, res: Resource,
                     found: list[ColumnElement[bool]], chosen: list[ColumnElement[bool]],
                     relevance: ColumnElement, distance: ColumnElement, limit: int
                     ) -> Sequence[RowMapping] | None:
    """A nearest-first search page with the actor's scope and filters applied to at most
    the NEAREST_CANDIDATES nearest matches, read nearest first until the page is full: the
    candidates' plan is the names-first one whoever asks, however the planner would
    estimate the scope. None when they did not fill the page: the caller then runs the
    whole query (the same rows, as the candidates are a prefix of its order)."""
    id_col = res.model.id
    candidates = (sa.select(id_col.label("id"), relevance.label("relevance"),
                            distance.label("distance"))
                  .select_from(res.model).where(*found)
                  .order_by(distance, id_col).limit(NEAREST_CANDIDATES).subquery("candidates"))
    query = (_select(res, actor).join(candidates, candidates.c.id == id_col)
             .add_columns(candidates.c.relevance)
             .where(*chosen).order_by(candidates.c.distance, id_col).limit(limit + 1))
    rows = session.execute(query).mappings().all()
    return rows if len(rows) > limit else None


# ------------------------------------------------------------------ writes

def _check_values(session: Session, actor: Actor, res: Resource, values: Mapping[str, Any],
                  scope: permissions.Scope) -> None:
    if unknown := sorted(set(values) - res.writable):
        raise InvalidInput(f"These fields cannot be set: {', '.join(unknown)}.",
                           field=unknown[0])
    permissions.check_writable(actor.role, res.name, set(values))
    for key, value in values.items():
        if isinstance(value, str) and "\x00" in value:
            raise InvalidInput(f"{key}: NUL characters are not allowed.", field=key)
    assignee = res.owners[0]
    if assignee in values and not permissions.may_assign(session, actor.principal, scope,
                                                         values[assignee]):
        raise PermissionDenied(f"You may not give this {res.entity} to user "
                               f"{values[assignee]}.", code="assignment_not_allowed")
    for key, target in res.references.items():
        if values.get(key) is not None:
            try:
                get(session, actor, target, values[key])
            except (NotFound, PermissionDenied):
                raise InvalidInput(f"{key}: no {target.entity} {values[key]} that you may "
                                   "see.", field=key, code="invalid_reference") from None


def _flush(session: Session, res: Resource) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"The {res.entity} conflicts with an existing record or breaks a "
                       f"rule of the database ({type(exc.orig).__name__}).") from None


def create(session: Session, actor: Actor, res: Resource, values: Mapping[str, Any], *,
           extra: Mapping[str, Any] | None = None) -> Any:
    """Create a record the actor may create (owner defaults to the actor), audited."""
    scope = permissions.require(actor.principal, res.name, "create")
    values = dict(values)
    values.setdefault(res.owners[0], actor.id)
    _check_values(session, actor, res, values, scope)
    obj = res.model(**values, **(extra or {}))
    session.add(obj)
    _flush(session, res)
    audit.write(session, actor, res.name, obj.id, "create", f"{res.entity}.created", None,
                audit.snapshot(obj))
    return obj


def load_for_write(session: Session, actor: Actor, res: Resource, record_id: int, *,
                   action: permissions.Action = "update", version: int | None = None,
                   deleted: bool = False, lock: bool = True) -> Any:
    """The record locked for a change the actor may make, at the version they read
    (`lock=False`: only checked, e.g. before a slow call whose answer is then written).

    NotFound when the actor may not see it, PermissionDenied when they may see but not
    change it, StaleVersion when it changed since they read `version`.
    """
    permissions.require(actor.principal, res.name, action)
    read = permissions.require(actor.principal, res.name, "read")
    query = sa.select(res.model).where(res.model.id == record_id, res.scope(actor, read),
                                       res.model.deleted_at.is_not(None) if deleted
                                       else res.model.deleted_at.is_(None))
    if lock:
        query = query.with_for_update(of=res.model)
    obj = session.scalars(query.execution_options(populate_existing=True)).first()
    if obj is None:
        raise NotFound(f"No {res.entity} {record_id} (or you may not see it).")
    scope = permissions.require(actor.principal, res.name, action)
    if not session.scalar(sa.select(sa.exists().where(res.model.id == record_id,
                                                      res.scope(actor, scope)))):
        raise PermissionDenied(f"You may see this {res.entity} but not {action} it.")
    if version is not None and obj.version != version:
        raise StaleVersion(f"The {res.entity} is at version {obj.version}, not {version}: "
                           "someone else changed it. Reload it and try again.",
                           details={"current_version": obj.version})
    return obj


def change(session: Session, actor: Actor, res: Resource, obj: Any, values: Mapping[str, Any],
           *, action: str = "update", topic: str | None = None, check: bool = True,
           extra: Mapping[str, Any] | None = None, payload: dict[str, Any] | None = None
           ) -> Any:
    """Apply `values` to a record from `load_for_write`, audited with before and after.
    `check=False` (and `extra`) is for fields the domain sets itself (status, times)."""
    if check:
        scope = permissions.require(actor.principal, res.name, "update")
        _check_values(session, actor, res, values, scope)
    before = audit.snapshot(obj)
    for key, value in {**values, **(extra or {})}.items():
        setattr(obj, key, value)
    _flush(session, res)
    after = audit.snapshot(obj)
    if action == "update" and before == after:
        return obj  # nothing changed: no version bump, no entry
    audit.write(session, actor, res.name, obj.id, action, topic or f"{res.entity}.{action}d",
                before, after, payload)
    return obj


def require_version(version: int | None) -> int:
    if version is None:
        raise InvalidInput("Send the version you read, as an If-Match header or a version "
                           "field, so a concurrent change is not overwritten.",
                           field="version", code="version_required")
    return version


def update(session: Session, actor: Actor, res: Resource, record_id: int,
           values: Mapping[str, Any], version: int | None) -> Any:
    """A partial update at the version the actor read (required: no blind overwrites)."""
    obj = load_for_write(session, actor, res, record_id, version=require_version(version))
    return change(session, actor, res, obj, values)


def soft_delete(session: Session, actor: Actor, res: Resource, record_id: int,
                version: int | None = None) -> Any:
    obj = load_for_write(session, actor, res, record_id, action="delete", version=version)
    return change(session, actor, res, obj, {"deleted_at": sa.func.now()}, action="delete",
                  topic=f"{res.entity}.deleted", check=False)


def restore(session: Session, actor: Actor, res: Resource, record_id: int) -> Any:
    obj = load_for_write(session, actor, res, record_id, action="delete", deleted=True)
    return change(session, actor, res, obj, {"deleted_at": None}, action="restore",
                  topic=f"{res.entity}.restored", check=False)
