"""raw.touchpoints__events: a BRIN index on loaded_at

Revision ID: 3c8e5a1f7d2b
Revises: 9d4b7e1a3c58
Create Date: 2026-11-27 05:45:00

dbt's incremental `stg_touchpoints__events` reads the raw events loaded since its newest
(less a margin): without an index on loaded_at that was a scan of every event ever loaded
at every hourly run. Rows are loaded in time order, so a BRIN index (a few pages, next to
nothing per loaded row) skips every block range loaded before.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3c8e5a1f7d2b"
down_revision: str | Sequence[str] | None = "9d4b7e1a3c58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_touchpoints__events_loaded_at", "touchpoints__events", ["loaded_at"],
                    unique=False, schema="raw", postgresql_using="brin",
                    postgresql_with={"autosummarize": "on"})


def downgrade() -> None:
    op.drop_index("ix_touchpoints__events_loaded_at", table_name="touchpoints__events",
                  schema="raw")
