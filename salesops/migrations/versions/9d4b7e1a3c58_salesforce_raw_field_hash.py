"""Salesforce-export raw tables: the content hash becomes a uuid, a hash of the non-empty fields

Revision ID: 9d4b7e1a3c58
Revises: b6d2f8a4c1e7
Create Date: 2026-11-26 16:15:00

The nine `raw.salesforce__*` tables hold one text column per field; their content hash was
the SHA-256 hex of the record's canonical JSON, which the loader had to build per row. It
becomes a `uuid`: the first 16 bytes of the SHA-256 of the fields that are neither null nor
empty, in sorted-name order (bytewise, `collate "C"`), each as `name NUL value NUL` in
UTF-8 (`salesops.loading.fields_hash` computes the same in Python; why and the figures:
docs/decisions.md).
The stored rows are re-hashed here with that definition, so re-loading a file loaded before
adds nothing. Two stored versions of a key that differed only in fields empty in one and
absent (null) in the other now have the same hash: the newest is kept (so the newest
version of every record reads as before) and the older ones are deleted.

Downgrade computes the SHA-256 of the canonical JSON again in SQL (PostgreSQL's JSON string
escaping, which orjson's matches for text without control characters).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9d4b7e1a3c58"
down_revision: str | Sequence[str] | None = "b6d2f8a4c1e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("user", "account", "contact", "lead", "opportunity", "opportunity_history",
          "campaign", "campaign_member", "task")
LINEAGE = ("id", "batch_id", "source", "source_key", "content_hash", "loaded_at")


def _fields(row: str) -> str:
    """The (key, value) rows of the record fields of `row` that are not null."""
    lineage = "array[" + ", ".join(f"'{c}'" for c in (*LINEAGE, "new_hash")) + "]::text[]"
    return f"jsonb_each_text(to_jsonb({row}) - {lineage}) f where f.value is not null"


def _rehash(digest: str, kind: str, collapse: bool) -> None:
    """Every table's content hash recomputed as `digest` of the row's fields (`f`); with
    `collapse`, of the versions of a key that now share a hash only the newest is kept."""
    for entity in TABLES:
        name = f"salesforce__{entity}"
        table = f"raw.{name}"
        op.execute(f"alter table {table} add column new_hash {kind}")
        op.execute(f"update {table} t set new_hash = (select {digest} from {_fields('t')})")
        if collapse:
            op.execute(f"""delete from {table} where ctid in (
                select ctid from (select ctid, row_number() over (
                    partition by source_key, new_hash order by id desc) as n
                    from {table}) v where n > 1)""")
        op.execute(f"alter table {table} drop constraint pk_{name}, drop column content_hash")
        op.execute(f"alter table {table} rename column new_hash to content_hash")
        op.execute(f"alter table {table} alter column content_hash set not null, "
                   f"add constraint pk_{name} primary key (source_key, content_hash)")


def upgrade() -> None:
    nul = "'\\x00'::bytea"
    _rehash(f"encode(substring(sha256(string_agg(convert_to(f.key, 'UTF8') || {nul} || "
            f"convert_to(f.value, 'UTF8') || {nul}, ''::bytea order by f.key collate \"C\") "
            "filter (where f.value <> '')) for 16), 'hex')::uuid", "uuid", collapse=True)


def downgrade() -> None:
    _rehash("encode(sha256(convert_to('{' || string_agg(to_json(f.key)::text || ':' || "
            "to_json(f.value)::text, ',' order by f.key collate \"C\") || '}', 'UTF8')), "
            "'hex')", "text", collapse=False)
