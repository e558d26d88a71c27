"""each call keeps its own record; ticket field history; response targets

Revision ID: 0014
Revises: 0001
Create Date: 2026-12-05 02:10:00

Backfills the new call columns from what the timeline already holds: the product of the
call's ticket, the PIN kind and privileged grant of its pin_ok event, who accepted it and
when, when the first engineer phone rang, and how the call ended; then derives the ticket
outcomes "missed" and "abandoned_ringing" that earlier versions recorded as message and
abandoned.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CALL_OUTCOMES = (
    "connected",
    "missed",
    "abandoned_ringing",
    "abandoned",
    "message",
    "refused",
    "transferred",
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        # Copying `calls` with foreign keys on would delete every event and ring attempt that
        # cascades from it; migrations/env.py turns them off for the run.
        raise RuntimeError("run this migration with SQLite foreign keys off (migrations/env.py)")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("product_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "pin_kind",
                sa.Enum(
                    "standing",
                    "one_time",
                    "privileged",
                    name="pinkind",
                    native_enum=False,
                    length=32,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("elevated_access_until", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "outcome",
                sa.Enum(*CALL_OUTCOMES, name="calloutcome", native_enum=False, length=32),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("answered_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("first_ring_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("connected_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_calls_answered_by"), ["answered_by"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_calls_product_id_products"),
            "products",
            ["product_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("tickets", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("response_due_at", sa.DateTime(), nullable=True))
    op.create_table(
        "ticket_field_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=False),
        sa.Column("new_value", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_field_changes_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ticket_field_changes_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_field_changes")),
    )
    with op.batch_alter_table("ticket_field_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_field_changes_ticket_id"), ["ticket_id"], unique=False
        )
    _backfill()


def _backfill() -> None:
    """Fill each call's own record from its ticket, its ring attempts and its timeline."""
    op.execute(
        "UPDATE calls SET "
        "product_id = (SELECT t.product_id FROM tickets t WHERE t.id = calls.ticket_id), "
        "connected_at = (SELECT MIN(e.at) FROM call_events e "
        "  WHERE e.call_id = calls.id AND e.kind = 'accepted'), "
        "first_ring_at = (SELECT MIN(COALESCE(a.ringing_at, a.answered_at)) "
        "  FROM ring_attempts a WHERE a.call_id = calls.id)"
    )
    # Strongest first, as tickets.outcome ranks them; a call hung up while ringing is the one
    # with a callback task on its timeline.
    op.execute(
        "UPDATE calls SET outcome = CASE "
        "WHEN EXISTS (SELECT 1 FROM call_events e WHERE e.call_id = calls.id AND e.kind = 'accepted') "
        "THEN 'connected' "
        "WHEN EXISTS (SELECT 1 FROM call_events e WHERE e.call_id = calls.id AND e.kind = 'nobody_accepted') "
        "THEN 'missed' "
        "WHEN (SELECT t.outcome FROM tickets t WHERE t.id = calls.ticket_id) = 'refused' "
        "  THEN CASE WHEN calls.state = 'transfer' THEN 'transferred' ELSE 'refused' END "
        "WHEN EXISTS (SELECT 1 FROM call_events e WHERE e.call_id = calls.id AND e.kind = 'callback_task') "
        "THEN 'abandoned_ringing' "
        "WHEN EXISTS (SELECT 1 FROM call_events e WHERE e.call_id = calls.id AND e.kind = 'recording') "
        "THEN 'message' "
        "WHEN EXISTS (SELECT 1 FROM call_events e WHERE e.call_id = calls.id AND e.kind = 'abandoned') "
        "THEN 'abandoned' "
        "ELSE NULL END"
    )
    events = sa.table(
        "call_events",
        sa.column("call_id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("detail", sa.JSON()),
    )
    calls = sa.table(
        "calls",
        sa.column("id", sa.Integer()),
        sa.column("pin_kind", sa.String()),
        sa.column("elevated_access_until", sa.DateTime()),
        sa.column("answered_by", sa.String()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(events.c.call_id, events.c.kind, events.c.detail).where(
            events.c.call_id.is_not(None), events.c.kind.in_(("pin_ok", "accepted"))
        )
    )
    for call_id, kind, detail in rows.all():
        detail = detail or {}
        if kind == "pin_ok":
            values = {
                "pin_kind": detail.get("pin_kind"),
                "elevated_access_until": _utc(detail.get("elevated_until")),
            }
        else:
            values = {"answered_by": detail.get("engineer_name") or detail.get("engineer")}
        bind.execute(sa.update(calls).where(calls.c.id == call_id).values(**values))
    # Ticket headlines the old versions could not tell apart.
    op.execute(
        "UPDATE tickets SET outcome = 'missed' WHERE outcome <> 'connected' AND EXISTS "
        "(SELECT 1 FROM calls c WHERE c.ticket_id = tickets.id AND c.outcome = 'missed')"
    )
    op.execute(
        "UPDATE tickets SET outcome = 'abandoned_ringing' WHERE outcome = 'abandoned' AND EXISTS "
        "(SELECT 1 FROM calls c WHERE c.ticket_id = tickets.id AND c.outcome = 'abandoned_ringing')"
    )


def _utc(text: str | None) -> datetime | None:
    """An ISO timestamp from an event as the naive UTC the DateTime columns store."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def downgrade() -> None:
    with op.batch_alter_table("ticket_field_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_field_changes_ticket_id"))
    op.drop_table("ticket_field_changes")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("response_due_at")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_calls_product_id_products"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_calls_answered_by"))
        for column in (
            "connected_at",
            "first_ring_at",
            "answered_by",
            "outcome",
            "elevated_access_until",
            "pin_kind",
            "product_id",
        ):
            batch_op.drop_column(column)
