"""ringing

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 01:02:45.318487
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "ring_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("engineer_id", sa.Integer(), nullable=True),
        sa.Column("engineer_name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("ring_timeout_seconds", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "ringing",
                "answered",
                "accepted",
                "passed",
                "no_answer",
                "busy",
                "failed",
                "voicemail",
                "cancelled",
                name="attemptstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("leg_sid", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("ringing_at", sa.DateTime(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_ring_attempts_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["engineer_id"],
            ["engineers.id"],
            name=op.f("fk_ring_attempts_engineer_id_engineers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ring_attempts")),
    )
    with op.batch_alter_table("ring_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ring_attempts_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ring_attempts_leg_sid"), ["leg_sid"], unique=False)

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ring_plan", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("ring_step", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ring_step_started_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("accepted_attempt_id", sa.Integer(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("accepted_attempt_id")
        batch_op.drop_column("ring_step_started_at")
        batch_op.drop_column("ring_step")
        batch_op.drop_column("ring_plan")

    with op.batch_alter_table("ring_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ring_attempts_leg_sid"))
        batch_op.drop_index(batch_op.f("ix_ring_attempts_call_id"))

    op.drop_table("ring_attempts")
