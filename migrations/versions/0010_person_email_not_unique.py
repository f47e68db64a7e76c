"""person email not unique: duplicates in Marketo stay duplicates

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 19:25:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person") as batch_op:
        batch_op.drop_index("ix_person_email")
        batch_op.create_index("ix_person_email", ["email"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("person") as batch_op:
        batch_op.drop_index("ix_person_email")
        batch_op.create_index("ix_person_email", ["email"], unique=True)
