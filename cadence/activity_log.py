"""Appending to the activity log (the outbox shipped to Marketo and Salesforce)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection
from sqlmodel import Session

from cadence.db import insert_ignoring_duplicates
from cadence.models import ActivityKind, ActivityLog, utcnow


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
    """Insert the activity unless one with the same key exists (writers may retry)."""
    insert_ignoring_duplicates(
        session,
        ActivityLog,
        {
            "key": key,
            "kind": kind,
            "person_id": person_id,
            "subject": subject,
            "campaign_id": campaign_id,
            "enrollment_id": enrollment_id,
            "user_id": user_id,
            "occurred_at": occurred_at or utcnow(),
            "details": details or {},
        },
    )
