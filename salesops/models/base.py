"""Declarative base and the columns every table shares."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

# Stable constraint names, so migrations can refer to them.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {dict: JSONB, list: JSONB}


class IdMixin:
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now(),
        nullable=False)


class SoftDeleteMixin:
    """Records that can be restored: deleted_at set means in the trash."""

    deleted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class VersionMixin:
    """Optimistic locking: every update bumps the version; a stale writer gets a conflict."""

    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:  # noqa: N805
        return {"version_id_col": cls.version}


def fk(target: str, ondelete: str = "RESTRICT", **kw) -> sa.ForeignKey:
    return sa.ForeignKey(target, ondelete=ondelete, **kw)


def app_fk(table: str, ondelete: str = "RESTRICT") -> sa.ForeignKey:
    return fk(f"app.{table}.id", ondelete)


def one_of(column: str, values: tuple[str, ...], name: str | None = None) -> sa.CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} in ({quoted})", name=name or f"{column}_valid")
