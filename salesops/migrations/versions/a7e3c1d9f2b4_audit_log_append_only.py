"""audit log append-only: the database refuses to change or delete audit entries

Revision ID: a7e3c1d9f2b4
Revises: a7e3c95d1f04
Create Date: 2026-11-26 00:30:00

An UPDATE or DELETE of app.audit_logs raises, whoever sends it. The one change allowed is
the foreign key's own: deleting a user sets the entries' user_id to null (ON DELETE SET
NULL), with every other column as it was. TRUNCATE (tests, a deliberate purge by the
database owner) is not a row change and stays possible.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a7e3c1d9f2b4"
down_revision: str | Sequence[str] | None = "a7e3c95d1f04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(r"""
        create or replace function app.audit_logs_append_only() returns trigger
        language plpgsql as $$
        begin
            if tg_op = 'UPDATE' and new.user_id is null
               and (to_jsonb(new) - 'user_id') = (to_jsonb(old) - 'user_id') then
                return new;  -- the user was deleted: ON DELETE SET NULL
            end if;
            raise exception 'app.audit_logs is append-only: % refused', tg_op
                using errcode = 'insufficient_privilege';
        end $$""")
    op.execute("""
        create trigger audit_logs_append_only before update or delete on app.audit_logs
        for each row execute function app.audit_logs_append_only()""")


def downgrade() -> None:
    op.execute("drop trigger if exists audit_logs_append_only on app.audit_logs")
    op.execute("drop function if exists app.audit_logs_append_only()")
