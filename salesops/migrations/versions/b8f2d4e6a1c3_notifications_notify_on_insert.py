"""notifications notify on insert: every new in-app notification wakes the WebSocket feed

Revision ID: b8f2d4e6a1c3
Revises: f0c7a3e1b9d5
Create Date: 2026-11-26 01:50:00

An insert into app.notifications (from the API, a Dagster run or anything else) sends
`NOTIFY salesops_notifications` with the row's id and user id, delivered on commit, so the
API processes push it to that user's open WebSocket connections at once.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b8f2d4e6a1c3"
down_revision: str | Sequence[str] | None = "f0c7a3e1b9d5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(r"""
        create or replace function app.notifications_notify() returns trigger
        language plpgsql as $$
        begin
            if new.channel = 'in_app' then
                perform pg_notify('salesops_notifications',
                                  json_build_object('id', new.id,
                                                    'user_id', new.user_id)::text);
            end if;
            return null;
        end $$""")
    op.execute("""
        create trigger notifications_notify after insert on app.notifications
        for each row execute function app.notifications_notify()""")


def downgrade() -> None:
    op.execute("drop trigger if exists notifications_notify on app.notifications")
    op.execute("drop function if exists app.notifications_notify()")
