"""sealed note bodies

Revision ID: a9f3c1d7e5b2
Revises: c5e1f7a3d9b6
Create Date: 2026-11-26 08:00:00

`app.notes.body` holds AES-GCM sealed text (`salesops.security.sealed`), like the contacts'
phones: a private note's body is a sensitive field, and a column is sealed for every row
or for none. Existing bodies are sealed here with the field keys of the process that
migrates; downgrade opens them again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from salesops.security.crypto import process_cipher

revision: str = "a9f3c1d7e5b2"
down_revision = "c5e1f7a3d9b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTEXT = "app.notes.body"
SEALED = "sensitive: sealed (AES-GCM)"


def _rewrite(seal: bool) -> None:
    cipher = process_cipher()
    change = ((lambda v: cipher.seal(v, CONTEXT)) if seal
              else (lambda v: cipher.open(v, CONTEXT)))
    conn = op.get_bind()
    rows = conn.execute(sa.text("select id, body from app.notes")).all()
    for start in range(0, len(rows), 1000):
        conn.execute(sa.text("update app.notes set body = :value where id = :id"),
                     [{"id": i, "value": change(v)} for i, v in rows[start:start + 1000]])


def upgrade() -> None:
    op.alter_column("notes", "body", comment=SEALED, existing_type=sa.Text(),
                    existing_nullable=False, schema="app")
    _rewrite(seal=True)


def downgrade() -> None:
    _rewrite(seal=False)
    op.alter_column("notes", "body", comment=None, existing_comment=SEALED,
                    existing_type=sa.Text(), existing_nullable=False, schema="app")
