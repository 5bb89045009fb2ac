"""ml.lead_scores.reasons as json, not jsonb

Revision ID: b7e2c9d4f1a6
Revises: d3a8f1c6b2e9
Create Date: 2026-11-26 11:00:00

Scoring writes a million reasons at a time by COPY; PostgreSQL parses `json` 2-2.5 times
faster than `jsonb` on input (it only checks the syntax and keeps the text). Every reader
(the API's lead read model, the dashboards' lead queue) fetches the whole value, which
`json` returns as stored without converting: no reader uses a jsonb operator, index or
equality on it. The change rewrites the table once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b7e2c9d4f1a6"
down_revision = "d3a8f1c6b2e9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _retype(to: sa.types.TypeEngine, cast: str) -> None:
    # the default is dropped around the change: it is typed, and has no cast of its own
    op.alter_column("lead_scores", "reasons", schema="ml", server_default=None)
    op.alter_column("lead_scores", "reasons", schema="ml", type_=to,
                    postgresql_using=f"reasons::{cast}")
    op.alter_column("lead_scores", "reasons", schema="ml", server_default="[]")


def upgrade() -> None:
    _retype(postgresql.JSON(astext_type=sa.Text()), "json")


def downgrade() -> None:
    _retype(postgresql.JSONB(astext_type=sa.Text()), "jsonb")
