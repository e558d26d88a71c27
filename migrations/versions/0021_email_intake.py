"""email intake: inbound messages as received, the channel a ticket came in by, an Email category

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("envelope_from", sa.String(length=254), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("pin_hash", sa.String(length=64), nullable=True),
        sa.Column("spf", sa.String(length=32), nullable=True),
        sa.Column("dkim", sa.String(length=32), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "received",
                "processed",
                name="mailstatus",
                native_enum=False,
                create_constraint=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "outcome",
            sa.Enum(
                "ticket",
                "threaded",
                "held",
                "no_pin",
                "pin_refused",
                "not_entitled",
                "automatic",
                "rate_limited",
                "unreadable",
                name="mailoutcome",
                native_enum=False,
                create_constraint=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column(
            "review",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                name="intakereview",
                native_enum=False,
                create_constraint=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("processed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_inbound_mails_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_inbound_mails_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_mails")),
        sa.UniqueConstraint("message_id", name=op.f("uq_inbound_mails_message_id")),
    )
    with op.batch_alter_table("inbound_mails", schema=None) as batch_op:
        batch_op.create_index("ix_inbound_mails_review", ["review"], unique=False)
        batch_op.create_index(
            "ix_inbound_mails_sender_received", ["sender", "received_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inbound_mails_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_inbound_mails_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_channel"), ["channel"], unique=False)

    # Tickets so far came by phone (they have calls) or from the portal (a contact opened them).
    op.execute("UPDATE tickets SET channel = 'phone' WHERE id IN (SELECT ticket_id FROM calls)")
    op.execute(
        "UPDATE tickets SET channel = 'portal' WHERE channel IS NULL AND contact_id IS NOT NULL"
    )

    # Email tickets no keyword placed land here; staff-only, like "phone".
    categories = sa.table(
        "ticket_categories",
        sa.column("code", sa.String),
        sa.column("label", sa.String),
        sa.column("active", sa.Boolean),
        sa.column("customer_choice", sa.Boolean),
        sa.column("position", sa.Integer),
    )
    exists = (
        op.get_bind()
        .execute(sa.text("SELECT 1 FROM ticket_categories WHERE code = 'email'"))
        .first()
    )
    if exists is None:
        op.bulk_insert(
            categories,
            [
                {
                    "code": "email",
                    "label": "Email",
                    "active": True,
                    "customer_choice": False,
                    "position": 100,
                }
            ],
        )


def downgrade() -> None:
    op.execute("DELETE FROM ticket_categories WHERE code = 'email'")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_channel"))
        batch_op.drop_column("channel")
    op.drop_table("inbound_mails")
