"""ticket assignees, acknowledged status, callback tasks with timers, account time zones

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(*values: str, name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("assignee_engineer_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("assignee_name", sa.String(length=200), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_tickets_assignee_user_id"), ["assignee_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tickets_assignee_engineer_id"), ["assignee_engineer_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_assignee_user_id_users"),
            "users",
            ["assignee_user_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_assignee_engineer_id_engineers"),
            "engineers",
            ["assignee_engineer_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("kind", _enum("callback", "respond", name="taskkind"), nullable=False),
        sa.Column("state", _enum("open", "acknowledged", "done", name="taskstate"), nullable=False),
        sa.Column(
            "stage", _enum("notified", "escalated", "overdue", name="taskstage"), nullable=False
        ),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("callback_number", sa.String(length=64), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("remind_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("next_timer_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("done_by", sa.String(length=200), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("callback_call_sid", sa.String(length=64), nullable=True),
        sa.Column("callback_attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_tasks_call_id_calls"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_tasks_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_tasks_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index("ix_tasks_state_next_timer", ["state", "next_timer_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_ticket_id"), ["ticket_id"], unique=False)
    op.create_table(
        "ticket_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("assignee_name", sa.String(length=200), nullable=True),
        sa.Column("by_name", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_assignments_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_assignments")),
    )
    with op.batch_alter_table("ticket_assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_assignments_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("ticket_assignments")
    op.drop_table("tasks")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_tickets_assignee_engineer_id_engineers"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_tickets_assignee_user_id_users"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_tickets_assignee_engineer_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_assignee_user_id"))
        batch_op.drop_column("assignee_name")
        batch_op.drop_column("assignee_engineer_id")
        batch_op.drop_column("assignee_user_id")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("timezone")
