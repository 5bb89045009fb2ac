"""sealed contact phones (with a blind index) and contract values; events notify by trigger

Revision ID: c5e1f7a3d9b6
Revises: b4c8e2a61d93
Create Date: 2026-11-26 04:30:00

`app.contacts.phone` and `app.contracts.value` hold AES-GCM sealed text
(`salesops.security.sealed`); existing plaintext is sealed here with the field keys of the
process that migrates. `app.contacts.phone_index` is the phone's blind index, for matching.
Downgrade opens the values again.

The contacts' name trigram index becomes GiST (k-nearest ordered scans for search).

A new `app.events` row sends `NOTIFY salesops_events` ({"id", "topic"}) by a trigger, so
emitting an event is one round trip instead of two.
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from salesops.security.crypto import process_cipher
from salesops.security.sealed import phone_index

revision: str = "c5e1f7a3d9b6"
down_revision = "d71f3a9c5e28"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEALED = "sensitive: sealed (AES-GCM)"
INDEX = "blind index of the normalised phone (HMAC-SHA256), for matching"


def _rewrite(table: str, column: str, change: Callable[[str], str],
             index: tuple[str, Callable[[str], str | None]] | None = None) -> None:
    """Every non-null value of a column through `change` (and its blind index column)."""
    conn = op.get_bind()
    rows = conn.execute(sa.text(f"select id, {column}::text from app.{table} "
                                f"where {column} is not null")).all()
    sets = f"{column} = :value" + (f", {index[0]} = :index" if index else "")
    for start in range(0, len(rows), 1000):
        conn.execute(sa.text(f"update app.{table} set {sets} where id = :id"),
                     [{"id": i, "value": change(v), **({"index": index[1](v)} if index else {})}
                      for i, v in rows[start:start + 1000]])


def _name_index(method: str) -> None:
    op.execute(f"""
        drop index app.ix_contacts_name_trgm;
        create index ix_contacts_name_trgm on app.contacts using {method}
            ((coalesce(first_name,'') || ' ' || coalesce(last_name,'')) {method}_trgm_ops)""")


def upgrade() -> None:
    _name_index("gist")
    op.execute("""
        create function app.notify_event() returns trigger language plpgsql as $$
            begin
                perform pg_notify('salesops_events',
                                  jsonb_build_object('id', new.id, 'topic', new.topic)::text);
                return null;
            end $$;
        create trigger events_notify after insert on app.events
            for each row execute function app.notify_event();""")
    cipher = process_cipher()
    op.add_column("contacts", sa.Column("phone_index", sa.Text(), nullable=True,
                                        comment=INDEX), schema="app")
    op.create_index("ix_contacts_phone_index", "contacts", ["phone_index"], schema="app")
    op.alter_column("contacts", "phone", comment=SEALED, existing_comment="sensitive",
                    existing_type=sa.Text(), schema="app")
    _rewrite("contacts", "phone", lambda v: cipher.seal(v, "app.contacts.phone"),
             ("phone_index", phone_index))
    op.alter_column("contracts", "value", type_=sa.Text(), postgresql_using="value::text",
                    comment=SEALED, existing_comment="sensitive",
                    existing_type=sa.Numeric(16, 2), schema="app")
    _rewrite("contracts", "value", lambda v: cipher.seal(v, "app.contracts.value"))


def downgrade() -> None:
    cipher = process_cipher()
    _rewrite("contracts", "value", lambda v: cipher.open(v, "app.contracts.value"))
    op.alter_column("contracts", "value", type_=sa.Numeric(16, 2),
                    postgresql_using="value::numeric(16, 2)", comment="sensitive",
                    existing_comment=SEALED, existing_type=sa.Text(), schema="app")
    _rewrite("contacts", "phone", lambda v: cipher.open(v, "app.contacts.phone"))
    op.alter_column("contacts", "phone", comment="sensitive", existing_comment=SEALED,
                    existing_type=sa.Text(), schema="app")
    op.drop_index("ix_contacts_phone_index", "contacts", schema="app")
    op.drop_column("contacts", "phone_index", schema="app")
    op.execute("drop trigger events_notify on app.events; drop function app.notify_event()")
    _name_index("gin")
