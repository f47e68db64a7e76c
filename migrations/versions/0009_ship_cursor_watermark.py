"""ship cursor watermark: the cursor trails new activity-log rows by a commit grace, and
counts the rows sent again after an ambiguous failure

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("shipcursor") as batch_op:
        batch_op.add_column(
            sa.Column("watermark_id", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("watermark_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("possible_duplicates", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("shipcursor") as batch_op:
        batch_op.drop_column("possible_duplicates")
        batch_op.drop_column("watermark_at")
        batch_op.drop_column("watermark_id")
