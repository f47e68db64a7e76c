"""lead location: Marketo's location fields, the zone and country derived from them (with
their sources), a rep's overrides, and the owner's zone

People get their address (country, state, city, postal code), mobile phone and Marketo's
inferred location; the zone and country in use with where each came from; the overrides of a
rep or admin with who set them and when; and a version that running enrollments are told
about. Users get a time zone. The people sync's watermark is dropped, so the next sync is a
full one (Bulk Lead Extract) that brings every person's location in.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WATERMARK = "marketo_people_since"  # activities/people.py
TEXT_COLUMNS = (
    "mobile_phone",
    "timezone_source",
    "country_source",
    "timezone_override",
    "country_override",
    "address_country",
    "address_state",
    "address_city",
    "address_postal_code",
    "inferred_country",
    "inferred_state",
    "inferred_city",
)


def upgrade() -> None:
    with op.batch_alter_table("person") as batch_op:
        for name in TEXT_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(), nullable=True))
        for which in ("timezone", "country"):
            batch_op.add_column(sa.Column(f"{which}_override_by", sa.Integer(), nullable=True))
            batch_op.add_column(
                sa.Column(f"{which}_override_at", sa.DateTime(timezone=True), nullable=True)
            )
            batch_op.create_foreign_key(
                f"fk_person_{which}_override_by_user", "user", [f"{which}_override_by"], ["id"]
            )
        for name in ("location_version", "location_notified"):
            batch_op.add_column(
                sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0"))
            )
    op.add_column("user", sa.Column("timezone", sa.String(), nullable=True))
    op.execute(sa.text("DELETE FROM syncstate WHERE name = :name").bindparams(name=WATERMARK))


def downgrade() -> None:
    op.drop_column("user", "timezone")
    with op.batch_alter_table("person") as batch_op:
        for which in ("timezone", "country"):
            batch_op.drop_constraint(f"fk_person_{which}_override_by_user", type_="foreignkey")
            batch_op.drop_column(f"{which}_override_at")
            batch_op.drop_column(f"{which}_override_by")
        for name in ("location_version", "location_notified", *TEXT_COLUMNS):
            batch_op.drop_column(name)
