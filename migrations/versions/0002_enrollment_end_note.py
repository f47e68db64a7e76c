"""enrollment end note: the free-text reason a rep gives, beside the typed end reason

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("enrollment", sa.Column("end_note", sa.String(), nullable=True))
    op.create_index("ix_enrollment_end_reason", "enrollment", ["end_reason"])


def downgrade() -> None:
    op.drop_index("ix_enrollment_end_reason", table_name="enrollment")
    op.drop_column("enrollment", "end_note")
