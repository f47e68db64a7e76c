"""enrollment status: one enrollment per (campaign, person) unless its run failed

The status column is a plain string (EnumText), so the new values (`paused`, and `failed` with
its end reasons) need no schema change. What changes is the unique (campaign_id, person_id)
constraint: it becomes a partial unique index that leaves out `failed` rows, so a person whose
run was terminated, failed or lost can be enrolled again (a new row, a new workflow id).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_enrollment_campaign_person"
NOT_FAILED = sa.text("status != 'failed'")
# SQLite reflects 0001's unnamed unique constraints without a name: name them to drop one.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}


def _campaign_person_constraint() -> str | None:
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints("enrollment"):
        if sorted(constraint["column_names"]) == ["campaign_id", "person_id"]:
            return constraint["name"] or "uq_enrollment_campaign_id_person_id"
    return None


def upgrade() -> None:
    name = _campaign_person_constraint()
    if name is not None:
        if op.get_bind().dialect.name == "sqlite":
            with op.batch_alter_table("enrollment", naming_convention=NAMING) as batch_op:
                batch_op.drop_constraint(name, type_="unique")
        else:
            op.drop_constraint(name, "enrollment", type_="unique")
    op.create_index(
        INDEX,
        "enrollment",
        ["campaign_id", "person_id"],
        unique=True,
        sqlite_where=NOT_FAILED,
        postgresql_where=NOT_FAILED,
    )


def downgrade() -> None:
    # Fails if a person was enrolled again after a failed run: remove those rows first.
    op.drop_index(INDEX, table_name="enrollment")
    with op.batch_alter_table("enrollment") as batch_op:
        batch_op.create_unique_constraint(
            "uq_enrollment_campaign_id_person_id", ["campaign_id", "person_id"]
        )
