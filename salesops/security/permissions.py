"""Who may do what, in one place: the role table, record scopes and hidden fields.

- `MATRIX[role][resource][action]` is the scope of records a role may act on, or absent
  when it may not act at all. Actions: read, create, update, delete (delete covers restore).
- Scopes, widest last: `own` (records the user owns), `campaign` (records of campaigns the
  user owns), `team` (owned by someone of the user's team), `subtree` (owned by someone of
  the user's team or of a team below it, or by nobody yet: the team's queue), `all`.
- `SENSITIVE[resource][field]` names the roles that may see a field; everyone else gets
  null and the field listed in `hidden_fields`, in every response and list. Audit entries
  mask these fields for everyone.

The domain services call `require`, `scope_clause` and `redact`; the API never decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from salesops.domain.errors import PermissionDenied
from salesops.models import Campaign, Team, User

Action = Literal["read", "create", "update", "delete"]
Scope = Literal["own", "campaign", "team", "subtree", "all"]

RECORDS = ("accounts", "contacts", "leads", "deals", "tasks")
MARKETING = ("campaigns", "templates", "segments")

_EVERYTHING: dict[str, Scope] = {"read": "all", "create": "all", "update": "all",
                                 "delete": "all"}


def _same(scope: Scope, resources=RECORDS) -> dict[str, dict[str, Scope]]:
    return {r: {"read": scope, "create": scope, "update": scope, "delete": scope}
            for r in resources}


MATRIX: dict[str, dict[str, dict[str, Scope]]] = {
    "admin": {r: dict(_EVERYTHING) for r in (*RECORDS, "pipelines", "api_keys", "audit_logs",
                                                     "users", "gdpr", "integrations", "targets",
                                                     *MARKETING)},
    "sales_manager": {**_same("subtree"), "pipelines": {"read": "all"},
                      "targets": {"read": "all", "update": "subtree"}},
    "sales_rep": {**{r: {"read": "team", "create": "own", "update": "own", "delete": "own"}
                     for r in RECORDS}, "pipelines": {"read": "all"},
                  "targets": {"read": "all"}},
    "marketing_manager": {"accounts": {"read": "all"}, "contacts": {"read": "all"},
                          "leads": {"read": "campaign", "update": "campaign"},
                          **_same("own", ("tasks",)), "pipelines": {"read": "all"},
                          **{r: {"read": "all", "create": "own", "update": "own",
                                 "delete": "own"} for r in MARKETING}},
    "analyst": {r: {"read": "all"} for r in (*RECORDS, "pipelines", *MARKETING, "targets")},
    "integration": {**{r: {"read": "all", "create": "all", "update": "all"}
                       for r in ("accounts", "contacts", "leads", "deals")},
                    "tasks": {"read": "all", "create": "all"}, "pipelines": {"read": "all"}},
}

_SALES = frozenset({"admin", "sales_manager", "sales_rep", "integration"})
SENSITIVE: dict[str, dict[str, frozenset[str]]] = {
    "contacts": {"phone": _SALES, "email": _SALES | {"marketing_manager"},
                 "email_normalized": _SALES | {"marketing_manager"}},
    "leads": {"phone": _SALES, "email": _SALES | {"marketing_manager"}},
    "deals": {"amount": _SALES},
    "contracts": {"value": _SALES},
}
#: Who approves campaigns (never their own: four eyes).
CAMPAIGN_APPROVERS = frozenset({"admin", "marketing_manager"})
#: Who reads the body of someone else's private note (a sensitive field, like those above).
PRIVATE_NOTE_READERS = _SALES
MASK = "***"


def scope_of(role: str, resource: str, action: Action) -> Scope | None:
    return MATRIX.get(role, {}).get(resource, {}).get(action)


def require(principal: Any, resource: str, action: Action) -> Scope:
    """The scope the principal may `action` `resource` in; PermissionDenied when none."""
    scope = scope_of(principal.role, resource, action)
    if scope is None:
        raise PermissionDenied(f"Your role ({principal.role}) may not {action} {resource}.")
    return scope


def _team_subtree(team_id: int) -> sa.Select:
    tree = sa.select(Team.id).where(Team.id == team_id).cte("team_tree", recursive=True)
    tree = tree.union(sa.select(Team.id).join(tree, Team.parent_id == tree.c.id))
    return sa.select(tree.c.id)


def _users_of(principal: Any, scope: Scope) -> sa.Select | None:
    """The ids of users whose records `scope` covers (None: just the principal)."""
    if principal.team_id is None:
        return None
    teams = (_team_subtree(principal.team_id) if scope == "subtree"
             else sa.select(sa.literal(principal.team_id)))
    return sa.select(User.id).where(User.team_id.in_(teams))


def scope_clause(principal: Any, scope: Scope, owners: list[ColumnElement],
                 campaign: ColumnElement | None = None) -> ColumnElement[bool]:
    """A WHERE clause keeping the records `scope` lets the principal act on.

    `owners` are the columns naming a record's people (owner, assignee, creator);
    `campaign` its campaign column, if it has one.
    """
    if scope == "all":
        return sa.true()
    if scope == "campaign":
        if campaign is None:
            return sa.false()
        return campaign.in_(sa.select(Campaign.id).where(Campaign.owner_id == principal.id))
    mine = sa.or_(*(c == principal.id for c in owners))
    if scope == "own":
        return mine
    users = _users_of(principal, scope)
    clause = mine if users is None else sa.or_(mine, *(c.in_(users) for c in owners))
    if scope == "subtree":
        clause = sa.or_(clause, sa.and_(*(c.is_(None) for c in owners)))
    return clause


def may_assign(session: Any, principal: Any, scope: Scope, user_id: int | None) -> bool:
    """May a record in this scope be given to `user_id` (as owner or assignee)?"""
    if scope == "all" or user_id == principal.id:
        return True
    if user_id is None:
        return scope == "subtree"
    if scope not in ("team", "subtree"):
        return False
    users = _users_of(principal, scope)
    return users is not None and bool(session.scalar(
        sa.select(sa.exists().where(User.id == user_id, User.id.in_(users)))))


def covers_team(session: Any, principal: Any, scope: Scope, team_id: int) -> bool:
    """Does `scope` reach the team `team_id` (a manager's subtree, a rep's own team)?"""
    if scope == "all":
        return True
    if principal.team_id is None or scope not in ("team", "subtree"):
        return False
    if scope == "team":
        return team_id == principal.team_id
    tree = _team_subtree(principal.team_id).subquery()
    return bool(session.scalar(sa.select(sa.exists().where(tree.c.id == team_id))))


def hidden_fields(role: str, resource: str) -> list[str]:
    return sorted(f for f, roles in SENSITIVE.get(resource, {}).items() if role not in roles)


def redact(role: str, resource: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The row as `role` may see it: hidden fields null, and named in `hidden_fields`."""
    hidden = [f for f in hidden_fields(role, resource) if f in row]
    out = dict(row)
    for field in hidden:
        out[field] = None
    out["hidden_fields"] = hidden
    return out


def check_writable(role: str, resource: str, fields: set[str]) -> None:
    """Nobody writes a field they may not read."""
    if blocked := sorted(fields & set(hidden_fields(role, resource))):
        raise PermissionDenied(f"Your role ({role}) may not set {', '.join(blocked)}.",
                               code="field_not_allowed")


def mask(resource: str, values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Values for the audit log: sensitive ones masked for everyone."""
    if values is None:
        return None
    sensitive = SENSITIVE.get(resource, {})
    return {k: (MASK if k in sensitive and v is not None else v) for k, v in values.items()}
