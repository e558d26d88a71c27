"""an index in the ticket list's severity order

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 08:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # severity ASC (nulls last, as ascending is by default), newest first within a severity.
    op.create_index(
        "ix_tickets_severity_sort",
        "tickets",
        ["severity", sa.text("created_at DESC"), sa.text("id DESC")],
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_severity_sort", table_name="tickets")
