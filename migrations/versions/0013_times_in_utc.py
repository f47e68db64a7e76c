"""times in utc: the rows SQLite kept as a local clock time become the UTC instant they named

SQLite stores a datetime as text without its offset. Before this revision the app wrote two
kinds of aware value as they came: a task's due time in the lead's time zone, and a reply's
time in the offset of its Date field. Read back, their local clock time was taken for UTC.
From now on every time is converted to UTC before it is written (cadence.core.models.UtcDateTime);
this rewrites the rows written before. PostgreSQL (timestamptz) kept the instants: nothing to do.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 06:00:00
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STORED = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy writes a datetime into SQLite


def _zone(*candidates: str | None) -> tzinfo:
    """The enrollment's zone as the workflow chose it: the lead's, else the playbook's."""
    for name in candidates:
        if name:
            try:
                return ZoneInfo(name)
            except (ValueError, KeyError):
                continue
    return UTC


def _playbook_zone(playbook: object) -> str | None:
    data = json.loads(playbook) if isinstance(playbook, str) else playbook
    settings = data.get("settings") if isinstance(data, dict) else None
    zone = settings.get("timezone") if isinstance(settings, dict) else None
    return zone if isinstance(zone, str) else None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    tasks = bind.execute(
        sa.text(
            "SELECT task.id, task.due_at, person.timezone, campaignversion.playbook FROM task "
            "JOIN person ON person.id = task.person_id "
            "JOIN enrollment ON enrollment.id = task.enrollment_id "
            "LEFT JOIN campaignversion ON campaignversion.campaign_id = enrollment.campaign_id "
            "AND campaignversion.version = enrollment.campaign_version"
        )
    ).all()
    for task_id, due_at, person_zone, playbook in tasks:
        local = datetime.fromisoformat(str(due_at)).replace(tzinfo=None)
        zone = _zone(person_zone, _playbook_zone(playbook) if playbook else None)
        due = local.replace(tzinfo=zone).astimezone(UTC)
        bind.execute(
            sa.text("UPDATE task SET due_at = :due WHERE id = :id"),
            {"due": due.strftime(_STORED), "id": task_id},
        )
    replies = bind.execute(
        sa.text(
            "SELECT activitylog.id, inbound_message.raw FROM activitylog "
            "JOIN inbound_message ON activitylog.key = 'inbound/' || inbound_message.id || '/reply'"
        )
    ).all()
    for activity_id, raw in replies:
        try:
            sent = parsedate_to_datetime(BytesHeaderParser().parsebytes(raw).get("date", ""))
        except (TypeError, ValueError):
            continue  # no usable Date: the reply was logged when it was received, in UTC
        if sent.tzinfo is None:
            continue  # "-0000": taken as UTC then and now
        bind.execute(
            sa.text("UPDATE activitylog SET occurred_at = :at WHERE id = :id"),
            {"at": sent.astimezone(UTC).strftime(_STORED), "id": activity_id},
        )


def downgrade() -> None:
    pass  # UTC values read the same, and correctly, under the earlier revisions
