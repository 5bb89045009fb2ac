"""events announced after commit: the NOTIFY trigger on app.events goes

Revision ID: 4a7c2e9f1b3d
Revises: 9d4b7e1a3c58
Create Date: 2026-11-27 03:00:00

The trigger of c5e1f7a3d9b6 sent `NOTIFY salesops_events` inside every transaction that
added an event. PostgreSQL serialises the commits of transactions that notified (one
server-wide lock, held through the commit's WAL flush), so every lead capture waited for
the flushes of the captures queued before it, one by one. `salesops.events.announce` now
sends the same payload ({"id", "topic"}) right after the commit, in a transaction of its
own (docs/decisions.md). Downgrade restores the trigger.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "4a7c2e9f1b3d"
down_revision: str | Sequence[str] | None = "9d4b7e1a3c58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("drop trigger events_notify on app.events; drop function app.notify_event()")


def downgrade() -> None:
    op.execute("""
        create function app.notify_event() returns trigger language plpgsql as $$
            begin
                perform pg_notify('salesops_events',
                                  jsonb_build_object('id', new.id, 'topic', new.topic)::text);
                return null;
            end $$;
        create trigger events_notify after insert on app.events
            for each row execute function app.notify_event();""")
