"""email: the send lease (exactly-once), Cc/Bcc, attachments, template

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("emailmessage") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("cc", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("bcc", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("attachment_ids", sa.JSON(), nullable=False, server_default="[]")
        )
        batch.add_column(sa.Column("template", sa.String(), nullable=True))
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("content_type", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_attachment_owner_id", "attachment", ["owner_id"])


def downgrade() -> None:
    op.drop_index("ix_attachment_owner_id", table_name="attachment")
    op.drop_table("attachment")
    with op.batch_alter_table("emailmessage") as batch:
        for column in ("template", "attachment_ids", "bcc", "cc", "lease_until"):
            batch.drop_column(column)
