"""blocked domains: recipient domains no sales email may go to

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blocked_domain",
        sa.Column("domain", sa.String(), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("domain"),
    )
    op.create_index("ix_emailmessage_recipient", "emailmessage", ["recipient"])


def downgrade() -> None:
    op.drop_index("ix_emailmessage_recipient", table_name="emailmessage")
    op.drop_table("blocked_domain")
