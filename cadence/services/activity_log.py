"""Appending to the activity log (the outbox shipped to Marketo and Salesforce)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from cadence.core.models import ActivityKind, UtcDateTime, utcnow

_INSERT = sa.text(
    "INSERT INTO activitylog (key, kind, occurred_at, person_id, campaign_id, enrollment_id, "
    "user_id, subject, details) VALUES (:key, :kind, :occurred_at, :person_id, :campaign_id, "
    ":enrollment_id, :user_id, :subject, :details) ON CONFLICT (key) DO NOTHING"
).bindparams(
    sa.bindparam("occurred_at", type_=UtcDateTime()),
    sa.bindparam("details", type_=sa.JSON),
)
_CAMPAIGN_OF = sa.text("SELECT campaign_id FROM enrollment WHERE id = :id")
_CAMPAIGN_NAME = sa.text("SELECT name FROM campaign WHERE id = :id")


def record_activity(
    session: Session | Connection,
    *,
    key: str,
    kind: ActivityKind,
    person_id: int,
    subject: str | None = None,
    campaign_id: int | None = None,
    enrollment_id: int | None = None,
    user_id: int | None = None,
    occurred_at: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Insert the activity unless one with the same key exists (writers may retry).
    One prepared statement: this runs for every email sent.

    Every activity of an enrollment carries its campaign: the campaign id is taken from the
    enrollment and the campaign's name (``details["campaign_name"]``, which Marketo's
    attributes and Salesforce's ``Cadence_Campaign__c`` are drawn from) from the campaign
    when the caller did not give them (the send path gives both and reads nothing here)."""
    details = dict(details or {})
    if campaign_id is None and enrollment_id is not None:
        campaign_id = session.execute(_CAMPAIGN_OF, {"id": enrollment_id}).scalar()
    if campaign_id is not None and "campaign_name" not in details:
        details["campaign_name"] = session.execute(_CAMPAIGN_NAME, {"id": campaign_id}).scalar()
    session.execute(
        _INSERT,
        {
            "key": key,
            "kind": ActivityKind(kind).value,
            "occurred_at": occurred_at or utcnow(),
            "person_id": person_id,
            "campaign_id": campaign_id,
            "enrollment_id": enrollment_id,
            "user_id": user_id,
            "subject": subject,
            "details": details,
        },
    )
