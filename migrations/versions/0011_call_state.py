"""call state machine: state, turn, accepted account, PIN and entitlement times

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The free-text steps the calls table held, as states ("greeting" and "transfer" kept their
# meaning; a finished flow was "done").
STEP_TO_STATE = {"greeting": "pin"}


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "state",
                sa.Enum(
                    "pin",
                    "product",
                    "severity",
                    "ringing",
                    "connected",
                    "message",
                    "transfer",
                    "done",
                    "ended",
                    name="callstate",
                    native_enum=False,
                    length=32,
                ),
                nullable=False,
                server_default="pin",
            )
        )
        batch_op.add_column(sa.Column("turn", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pin_accepted_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("entitled_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_calls_account_id_accounts"),
            "accounts",
            ["account_id"],
            ["id"],
            ondelete="SET NULL",
        )
    calls = sa.table(
        "calls",
        sa.column("step", sa.String),
        sa.column("state", sa.String),
        sa.column("ended_at", sa.DateTime),
    )
    op.execute(calls.update().values(state=calls.c.step))
    for step, state in STEP_TO_STATE.items():
        op.execute(calls.update().where(calls.c.step == step).values(state=state))
    op.execute(calls.update().where(calls.c.ended_at.is_not(None)).values(state="ended"))
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.alter_column("state", server_default=None)
        batch_op.alter_column("turn", server_default=None)
        batch_op.drop_column("step")


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("step", sa.String(length=32), nullable=False, server_default="greeting")
        )
    calls = sa.table("calls", sa.column("step", sa.String), sa.column("state", sa.String))
    op.execute(calls.update().values(step=calls.c.state))
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.alter_column("step", server_default=None)
        batch_op.drop_constraint(batch_op.f("fk_calls_account_id_accounts"), type_="foreignkey")
        batch_op.drop_column("entitled_at")
        batch_op.drop_column("pin_accepted_at")
        batch_op.drop_column("account_id")
        batch_op.drop_column("turn")
        batch_op.drop_column("state")
