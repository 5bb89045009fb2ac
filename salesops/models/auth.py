"""Users, teams, roles and permissions, login attempts and the audit log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import CITEXT, INET
from sqlalchemy.orm import Mapped, mapped_column

from salesops.models.base import (
    Base,
    IdMixin,
    SoftDeleteMixin,
    TimestampMixin,
    VersionMixin,
    app_fk,
    one_of,
)

ROLES = ("admin", "sales_manager", "sales_rep", "marketing_manager", "analyst", "integration")


class Role(IdMixin, Base):
    __tablename__ = "roles"
    __table_args__ = (one_of("name", ROLES), {"schema": "app"})

    name: Mapped[str] = mapped_column(sa.Text, unique=True)
    description: Mapped[str | None] = mapped_column(sa.Text)


class Permission(IdMixin, Base):
    """An action on a resource, e.g. `leads:update`; scope says whose records."""

    __tablename__ = "permissions"
    __table_args__ = {"schema": "app"}

    code: Mapped[str] = mapped_column(sa.Text, unique=True)
    description: Mapped[str | None] = mapped_column(sa.Text)


class RolePermission(Base):
    __tablename__ = "role_permissions"
    __table_args__ = (one_of("scope", ("own", "team", "all")), {"schema": "app"})

    role_id: Mapped[int] = mapped_column(app_fk("roles", "CASCADE"), primary_key=True)
    permission_id: Mapped[int] = mapped_column(app_fk("permissions", "CASCADE"),
                                               primary_key=True)
    scope: Mapped[str] = mapped_column(sa.Text, server_default="own")


class Team(IdMixin, TimestampMixin, Base):
    """Teams nest (parent_id), so a manager sees the subtree below their team."""

    __tablename__ = "teams"
    __table_args__ = {"schema": "app"}

    name: Mapped[str] = mapped_column(sa.Text, unique=True)
    parent_id: Mapped[int | None] = mapped_column(app_fk("teams", "SET NULL"), index=True)
    manager_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("app.users.id", ondelete="SET NULL", use_alter=True), index=True)
    territory: Mapped[str | None] = mapped_column(sa.Text)


class User(IdMixin, TimestampMixin, SoftDeleteMixin, VersionMixin, Base):
    __tablename__ = "users"
    __table_args__ = {"schema": "app"}

    email: Mapped[str] = mapped_column(CITEXT, unique=True)
    full_name: Mapped[str] = mapped_column(sa.Text)
    password_hash: Mapped[str | None] = mapped_column(sa.Text, comment="argon2; null for SSO "
                                                      "or integration users")
    role_id: Mapped[int] = mapped_column(app_fk("roles"), index=True)
    team_id: Mapped[int | None] = mapped_column(app_fk("teams", "SET NULL"), index=True)
    manager_id: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"), index=True)
    title: Mapped[str | None] = mapped_column(sa.Text)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    source: Mapped[str | None] = mapped_column(sa.Text)
    source_key: Mapped[str | None] = mapped_column(sa.Text, unique=True)
    last_login_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class ApiKey(IdMixin, TimestampMixin, Base):
    """Keys for the integration role: only a hash is stored."""

    __tablename__ = "api_keys"
    __table_args__ = {"schema": "app"}

    user_id: Mapped[int] = mapped_column(app_fk("users", "CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.Text)
    prefix: Mapped[str] = mapped_column(sa.Text, unique=True)
    key_hash: Mapped[str] = mapped_column(sa.Text)
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class LoginAttempt(IdMixin, Base):
    __tablename__ = "login_attempts"
    __table_args__ = (sa.Index(None, "email", "attempted_at"),
                      sa.Index(None, "ip", "attempted_at"), {"schema": "app"})

    email: Mapped[str] = mapped_column(CITEXT)
    user_id: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"))
    ip: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(sa.Text)
    succeeded: Mapped[bool] = mapped_column(sa.Boolean)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    attempted_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                   server_default=sa.func.now())


class AuditLog(IdMixin, Base):
    """Every write: who, which record, before and after (sensitive values masked)."""

    __tablename__ = "audit_logs"
    __table_args__ = (sa.Index(None, "entity", "entity_id"), {"schema": "app"})

    occurred_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                  server_default=sa.func.now(), index=True)
    user_id: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"), index=True)
    action: Mapped[str] = mapped_column(sa.Text)
    entity: Mapped[str] = mapped_column(sa.Text)
    entity_id: Mapped[str | None] = mapped_column(sa.Text)
    before: Mapped[dict | None]
    after: Mapped[dict | None]
    request_id: Mapped[str | None] = mapped_column(sa.Text)
    ip: Mapped[str | None] = mapped_column(INET)
