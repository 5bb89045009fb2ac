"""raw tables: natural primary key, no per-row foreign key, BRIN batch index

Revision ID: d4f6b2e8a0c7
Revises: b7e2c9d4f1a6
Create Date: 2026-11-26 10:40:00

Every `raw.*` table keeps its columns and rows (no hash changes: what was loaded before is
still recognised), but what each inserted row costs is cut to what the load rules need
(measured in docs/benchmarks.md, "raw_row_costs"; the why in docs/decisions.md):

- the unique (source_key, content_hash) becomes the primary key, and the identity `id`
  (still there, still ordering versions) loses its own btree index;
- the per-row foreign key to `ops.load_batches` goes: the loader writes the batch row in
  the same transaction as the batch's raw rows;
- the btree index on batch_id becomes a BRIN index: a batch's rows are contiguous.

Downgrade restores the old indexes and the foreign key (it fails if a raw row names a
batch that `ops.load_batches` does not have).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "d4f6b2e8a0c7"
down_revision = "b7e2c9d4f1a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RAW_TABLES = (
    "salesforce__user", "salesforce__account", "salesforce__contact", "salesforce__lead",
    "salesforce__opportunity", "salesforce__opportunity_history", "salesforce__campaign",
    "salesforce__campaign_member", "salesforce__task",
    "hubspot__contacts", "hubspot__companies", "hubspot__deals", "hubspot__engagements",
    "hubspot__owners", "hubspot__pipelines",
    "email__messages", "webforms__submissions", "touchpoints__events",
    "mapped__accounts", "mapped__contacts", "mapped__leads", "mapped__deals",
    "mapped__touchpoints",
)


def upgrade() -> None:
    for name in RAW_TABLES:
        op.execute(f"""
            alter table raw.{name}
                drop constraint fk_{name}_batch_id_load_batches,
                drop constraint pk_{name},
                drop constraint uq_{name}_source_key_content_hash,
                add constraint pk_{name} primary key (source_key, content_hash);
            drop index raw.ix_{name}_batch_id;
            create index ix_{name}_batch_id on raw.{name} using brin (batch_id)
                with (autosummarize = on)""")


def downgrade() -> None:
    for name in RAW_TABLES:
        op.execute(f"""
            drop index raw.ix_{name}_batch_id;
            create index ix_{name}_batch_id on raw.{name} (batch_id);
            alter table raw.{name}
                drop constraint pk_{name},
                add constraint pk_{name} primary key (id),
                add constraint uq_{name}_source_key_content_hash
                    unique (source_key, content_hash),
                add constraint fk_{name}_batch_id_load_batches foreign key (batch_id)
                    references ops.load_batches (batch_id)""")
