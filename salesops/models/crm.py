"""Accounts, contacts with their source lineage, notes, attachments and leads."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import CITEXT
from sqlalchemy.orm import Mapped, Session, mapped_column, validates

from salesops.models.base import (
    Base,
    IdMixin,
    SoftDeleteMixin,
    TimestampMixin,
    VersionMixin,
    app_fk,
    one_of,
)
from salesops.security.sealed import NOTE_BODY_CONTEXT, PHONE_CONTEXT, Sealed, phone_index

LIFECYCLE_STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "other")
LEAD_STATUSES = ("new", "working", "nurturing", "qualified", "disqualified", "converted")


class Account(IdMixin, TimestampMixin, SoftDeleteMixin, VersionMixin, Base):
    __tablename__ = "accounts"
    __table_args__ = (sa.CheckConstraint("employees is null or employees >= 0",
                                         name="employees_nonnegative"), {"schema": "app"})

    name: Mapped[str] = mapped_column(sa.Text)
    domain: Mapped[str | None] = mapped_column(CITEXT, index=True)
    industry: Mapped[str | None] = mapped_column(sa.Text)
    segment: Mapped[str | None] = mapped_column(sa.Text)
    employees: Mapped[int | None] = mapped_column(sa.Integer)
    annual_revenue: Mapped[float | None] = mapped_column(sa.Numeric(16, 2))
    country: Mapped[str | None] = mapped_column(sa.Text)
    city: Mapped[str | None] = mapped_column(sa.Text)
    owner_id: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"), index=True)
    is_customer: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    custom_fields: Mapped[dict] = mapped_column(server_default="{}")


class Contact(IdMixin, TimestampMixin, SoftDeleteMixin, VersionMixin, Base):
    """One golden record per person. Merged duplicates point at their survivor."""

    __tablename__ = "contacts"
    __table_args__ = (
        one_of("lifecycle_stage", LIFECYCLE_STAGES),
        # one live contact per normalised email
        sa.Index("uq_contacts_email_normalized_live", "email_normalized", unique=True,
                 postgresql_where=sa.text("deleted_at is null and merged_into_id is null")),
        # the people with a name found in ContactName (search), by the same expression
        # (written as PostgreSQL shows it, so the schema check compares like with like)
        sa.Index("ix_contacts_name", sa.text("((COALESCE(first_name, ''::text) || ' '::text)"
                                             " || COALESCE(last_name, ''::text))")),
        {"schema": "app"},
    )

    account_id: Mapped[int | None] = mapped_column(app_fk("accounts", "SET NULL"), index=True)
    first_name: Mapped[str | None] = mapped_column(sa.Text)
    last_name: Mapped[str | None] = mapped_column(sa.Text)
    email: Mapped[str | None] = mapped_column(CITEXT)
    email_normalized: Mapped[str | None] = mapped_column(
        sa.Text, comment="lower case, +tag removed: the matching key")
    phone: Mapped[str | None] = mapped_column(Sealed(PHONE_CONTEXT),
                                              comment="sensitive: sealed (AES-GCM)")
    phone_index: Mapped[str | None] = mapped_column(
        sa.Text, index=True, info={"derived": True},
        comment="blind index of the normalised phone (HMAC-SHA256), for matching")
    title: Mapped[str | None] = mapped_column(sa.Text)
    lifecycle_stage: Mapped[str] = mapped_column(sa.Text, server_default="lead")
    owner_id: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"), index=True)
    source: Mapped[str | None] = mapped_column(sa.Text, comment="first source seen")
    marketing_consent: Mapped[bool | None] = mapped_column(sa.Boolean)
    consent_text: Mapped[str | None] = mapped_column(sa.Text)
    consent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    email_opt_out: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    merged_into_id: Mapped[int | None] = mapped_column(app_fk("contacts", "SET NULL"),
                                                       index=True)
    custom_fields: Mapped[dict] = mapped_column(server_default="{}")

    @validates("phone")
    def _index_phone(self, _key: str, phone: str | None) -> str | None:
        """A new phone, a new blind index (Core inserts pass `phone_index` themselves)."""
        self.phone_index = phone_index(phone)
        return phone


#: A contact's full name in SQL, over its `first_name` and `last_name`: the search
#: expression, the key of ContactName and of the contacts' `ix_contacts_name`.
FULL_NAME = "coalesce(first_name,'') || ' ' || coalesce(last_name,'')"


def remember_names(rows: str) -> str:
    """The statement adding the full names of `rows` (a table, or a FROM clause with its
    WHERE, with `first_name` and `last_name`) to ContactName: one per statement that writes
    contacts, set-based, never a trigger (a row trigger would cost every bulk merge a call
    per contact and turn off its set-based foreign-key check)."""
    return (f"insert into app.contact_names (name) select distinct {FULL_NAME} from {rows} "
            "on conflict do nothing")


class ContactName(Base):
    """The full names of contacts, for search: the nearest names are read here (thousands
    of rows where contacts are millions), then the people by name (`ix_contacts_name`).

    Whoever writes contacts adds their names (`remember_names`; the ORM's flushes do it by
    `_remember_flushed_names`). A name no contact has any more is harmless (search joins
    back to the contacts and finds nobody) and stays, except after a GDPR erase, which
    removes it (`salesops.domain.contacts.forget_unused_names`)."""

    __tablename__ = "contact_names"
    __table_args__ = (
        # GiST, not GIN: it reads the k nearest names in order
        sa.Index("ix_contact_names_trgm", "name", postgresql_using="gist",
                 postgresql_ops={"name": "gist_trgm_ops"}),
        {"schema": "app", "comment": "the full names of contacts, for trigram search "
                                     "(written by the contact writers)"},
    )

    name: Mapped[str] = mapped_column(sa.Text, primary_key=True)


@event.listens_for(Session, "after_flush")
def _remember_flushed_names(session: Session, _context: object) -> None:
    """The names of the contacts this flush inserted or renamed, in one statement."""
    ids = [c.id for c in session.new if isinstance(c, Contact)]
    ids += [c.id for c in session.dirty if isinstance(c, Contact) and (
        _changed(c, "first_name") or _changed(c, "last_name"))]
    if ids:
        session.connection().execute(sa.text(remember_names(
            "app.contacts where id = any(:ids)")), {"ids": ids})


def _changed(obj: object, attribute: str) -> bool:
    return sa.inspect(obj).attrs[attribute].history.has_changes()


class ContactSource(IdMixin, Base):
    """Merge lineage: every source record that became (part of) a contact."""

    __tablename__ = "contact_sources"
    __table_args__ = (sa.UniqueConstraint("source", "source_key"), {"schema": "app"})

    contact_id: Mapped[int] = mapped_column(app_fk("contacts", "CASCADE"), index=True)
    source: Mapped[str] = mapped_column(sa.Text)
    source_key: Mapped[str] = mapped_column(sa.Text)
    linked_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                server_default=sa.func.now())
    match_rule: Mapped[str | None] = mapped_column(sa.Text, comment="email, source_key, manual")


class Note(IdMixin, TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "notes"
    __table_args__ = (sa.CheckConstraint("num_nonnulls(contact_id, account_id, lead_id, deal_id)"
                                         " >= 1", name="has_parent"), {"schema": "app"})

    contact_id: Mapped[int | None] = mapped_column(app_fk("contacts", "CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(app_fk("accounts", "CASCADE"), index=True)
    lead_id: Mapped[int | None] = mapped_column(app_fk("leads", "CASCADE"), index=True)
    deal_id: Mapped[int | None] = mapped_column(app_fk("sales_pipeline", "CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"))
    body: Mapped[str] = mapped_column(Sealed(NOTE_BODY_CONTEXT),
                                      comment="sensitive: sealed (AES-GCM)")
    is_private: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())


class Attachment(IdMixin, TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "attachments"
    __table_args__ = (sa.CheckConstraint("size_bytes >= 0", name="size_nonnegative"),
                      {"schema": "app"})

    contact_id: Mapped[int | None] = mapped_column(app_fk("contacts", "CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(app_fk("accounts", "CASCADE"), index=True)
    deal_id: Mapped[int | None] = mapped_column(app_fk("sales_pipeline", "CASCADE"), index=True)
    uploaded_by: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"))
    filename: Mapped[str] = mapped_column(sa.Text, comment="as the user named it")
    stored_name: Mapped[str] = mapped_column(sa.Text, unique=True, comment="safe name on disk")
    content_type: Mapped[str] = mapped_column(sa.Text)
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.Text)


class Lead(IdMixin, TimestampMixin, SoftDeleteMixin, VersionMixin, Base):
    __tablename__ = "leads"
    __table_args__ = (
        one_of("status", LEAD_STATUSES),
        sa.CheckConstraint("status <> 'disqualified' or disqualified_reason is not null",
                           name="disqualified_has_reason"),
        sa.UniqueConstraint("source", "source_key"),
        sa.Index(None, "owner_id", "status"),
        {"schema": "app"},
    )

    contact_id: Mapped[int | None] = mapped_column(app_fk("contacts", "SET NULL"), index=True)
    account_id: Mapped[int | None] = mapped_column(app_fk("accounts", "SET NULL"), index=True)
    company: Mapped[str | None] = mapped_column(sa.Text)
    title: Mapped[str | None] = mapped_column(sa.Text)
    industry: Mapped[str | None] = mapped_column(sa.Text)
    employees: Mapped[int | None] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.Text, server_default="new")
    lead_source: Mapped[str | None] = mapped_column(sa.Text, comment="channel the lead came by")
    campaign_id: Mapped[int | None] = mapped_column(app_fk("marketing_campaigns", "SET NULL"),
                                                    index=True)
    owner_id: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"))
    utm: Mapped[dict] = mapped_column(server_default="{}")
    source: Mapped[str | None] = mapped_column(sa.Text, comment="system it came from")
    source_key: Mapped[str | None] = mapped_column(sa.Text)
    first_touch_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    qualified_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    disqualified_reason: Mapped[str | None] = mapped_column(sa.Text)
    converted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    converted_deal_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("app.sales_pipeline.id", ondelete="SET NULL", use_alter=True))
    custom_fields: Mapped[dict] = mapped_column(server_default="{}")
