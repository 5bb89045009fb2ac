"""Users and roles: creating them, and the `Principal` every other service acts for."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from salesops.domain.errors import AuthenticationFailed, Conflict, InvalidInput
from salesops.models import Role, User
from salesops.models.auth import ROLES
from salesops.security import SecuritySettings
from salesops.security.passwords import hash_password

ROLE_DESCRIPTIONS = {
    "admin": "Everything, including users, roles and integrations.",
    "sales_manager": "Their team's records, pipeline and forecasts.",
    "sales_rep": "Their own leads, contacts, deals and tasks.",
    "marketing_manager": "Campaigns, templates, web forms and lead capture.",
    "analyst": "Read-only access to records and analytics.",
    "integration": "Machine access with an API key.",
}

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes anything, but not for free


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: what permission checks and audit entries need."""

    id: int
    email: str
    full_name: str
    role: str
    team_id: int | None = None


def ensure_roles(session: Session) -> None:
    """Create the built-in roles that are missing (idempotent)."""
    session.execute(
        pg_insert(Role)
        .values([{"name": name, "description": ROLE_DESCRIPTIONS[name]} for name in ROLES])
        .on_conflict_do_nothing(index_elements=[Role.name]))


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.",
                           field="password", code="weak_password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"The password may have at most {MAX_PASSWORD_LENGTH} characters.",
                           field="password")


def create_user(session: Session, email: str, full_name: str, password: str | None,
                role: str, team_id: int | None = None, *,
                security: SecuritySettings | None = None) -> User:
    """Create a user in the caller's transaction. `password=None` makes a user who cannot
    log in with a password (SSO or integration)."""
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}; one of: {', '.join(ROLES)}.", field="role")
    email = (email or "").strip()
    # the same notion of a valid address as contact matching, from the database
    if session.scalar(sa.select(sa.func.app.normalize_email(email))) is None:
        raise InvalidInput(f"{email!r} is not a valid email address.", field="email",
                           code="invalid_email")
    if not (full_name or "").strip():
        raise InvalidInput("The full name is required.", field="full_name")
    if password is not None:
        check_password_policy(password)
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"A user with the email {email} already exists.", code="email_taken")
    ensure_roles(session)
    role_id = session.scalar(sa.select(Role.id).where(Role.name == role))
    user = User(email=email, full_name=full_name.strip(), role_id=role_id, team_id=team_id,
                password_hash=hash_password(password, security) if password else None)
    session.add(user)
    session.flush()
    return user


def get_principal(session: Session, user_id: int) -> Principal:
    """The active user behind a token; AuthenticationFailed when gone or deactivated."""
    row = session.execute(
        sa.select(User.id, User.email, User.full_name, Role.name, User.team_id)
        .join(Role, Role.id == User.role_id)
        .where(User.id == user_id, User.is_active, User.deleted_at.is_(None))).first()
    if row is None:
        raise AuthenticationFailed("The account is disabled or no longer exists.",
                                   code="account_unavailable")
    return Principal(id=row[0], email=row[1], full_name=row[2], role=row[3], team_id=row[4])
