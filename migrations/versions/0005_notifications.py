"""notifications: the job that owns a row, its send claim, and the text that was sent

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-22 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("job_id", sa.String(length=80), nullable=True))
    op.add_column("notifications", sa.Column("enqueued_at", sa.DateTime(), nullable=True))
    op.add_column("notifications", sa.Column("claimed_at", sa.DateTime(), nullable=True))
    op.add_column("notifications", sa.Column("subject", sa.String(length=300), nullable=True))
    op.add_column("notifications", sa.Column("body", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        for column in ("body", "subject", "claimed_at", "enqueued_at", "job_id"):
            batch.drop_column(column)
