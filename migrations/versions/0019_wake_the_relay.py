"""Wake the outbox relay: NOTIFY when a notification or a task timer is written (PostgreSQL).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# NOTIFY is delivered at commit, and PostgreSQL folds identical ones within a transaction:
# the relay wakes once per transaction that gives it work, and no webhook waits for it.
# Only rows that become pending (new, retried, handed back) or timers that move wake it: the
# jobs' own "sent" updates do not.
FUNCTION = """
CREATE OR REPLACE FUNCTION hotline_wake_relay() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('hotline_wake', TG_TABLE_NAME);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: the relay watches PRAGMA data_version instead
    op.execute(FUNCTION)
    op.execute(
        "CREATE TRIGGER notifications_wake_relay AFTER INSERT OR UPDATE OF status, available_at"
        " ON notifications FOR EACH ROW WHEN (NEW.status = 'pending')"
        " EXECUTE FUNCTION hotline_wake_relay()"
    )
    op.execute(
        "CREATE TRIGGER tasks_wake_relay AFTER INSERT OR UPDATE OF next_timer_at"
        " ON tasks FOR EACH ROW WHEN (NEW.next_timer_at IS NOT NULL)"
        " EXECUTE FUNCTION hotline_wake_relay()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS tasks_wake_relay ON tasks")
    op.execute("DROP TRIGGER IF EXISTS notifications_wake_relay ON notifications")
    op.execute("DROP FUNCTION IF EXISTS hotline_wake_relay()")
