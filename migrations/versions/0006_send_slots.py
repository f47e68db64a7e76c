"""send slots: sends counted against each sender's mailbox quota

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 09:30:00
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
        "send_slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_send_slot_sender", "send_slot", ["sender"])
    op.create_index("ix_send_slot_at", "send_slot", ["at"])


def downgrade() -> None:
    op.drop_index("ix_send_slot_at", table_name="send_slot")
    op.drop_index("ix_send_slot_sender", table_name="send_slot")
    op.drop_table("send_slot")
