"""task salesforce sync: the Salesforce Task of each reminder task, and when it was synced

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("task") as batch_op:
        batch_op.add_column(sa.Column("sfdc_task_id", sa.String(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "updated_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.text("CURRENT_TIMESTAMP"),
            )
        )
        batch_op.add_column(sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_task_sfdc_task_id", ["sfdc_task_id"])


def downgrade() -> None:
    with op.batch_alter_table("task") as batch_op:
        batch_op.drop_index("ix_task_sfdc_task_id")
        batch_op.drop_column("synced_at")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("sfdc_task_id")
