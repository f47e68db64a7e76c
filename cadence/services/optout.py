"""Stopping mail to a person: unsubscribes and dead addresses, whatever reported them (the
unsubscribe link, a reply asking for it, a feedback report, a hard bounce)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from cadence.core.models import ActivityKind, Enrollment, InvalidAddress, Person
from cadence.domain.contracts import RUNNING_STATUSES
from cadence.services.activity_log import record_activity


def unsubscribe(
    session: Session,
    person: Person,
    *,
    via: str,
    enrollment_id: int | None = None,
    campaign_id: int | None = None,
    message_id: str | None = None,
) -> bool:
    """Mark the person unsubscribed and log it once. False if they already were."""
    if person.unsubscribed:
        return False
    person.unsubscribed = True
    session.add(person)
    details: dict[str, Any] = {"message_id": message_id, "via": via}
    record_activity(
        session,
        key=f"{person.id}/unsubscribe",
        kind=ActivityKind.unsubscribe,
        person_id=int(person.id or 0),
        enrollment_id=enrollment_id,
        campaign_id=campaign_id,
        subject="Unsubscribed from sales email",
        details=details,
    )
    return True


def mark_invalid(
    session: Session, address: str, reason: str, status_code: str | None, inbound_id: int | None
) -> None:
    """Remember a hard-bounced address: the send guard skips it in every campaign."""
    address = address.strip().lower()
    if address and session.get(InvalidAddress, address) is None:
        session.add(InvalidAddress(address=address, reason=reason, status_code=status_code,
                                   inbound_id=inbound_id))  # fmt: skip


def running_enrollments(session: Session, person_id: int) -> list[Enrollment]:
    """The person's enrollments whose workflows are still running (active or paused)."""
    return list(
        session.exec(
            select(Enrollment).where(
                Enrollment.person_id == person_id, col(Enrollment.status).in_(RUNNING_STATUSES)
            )
        ).all()
    )
