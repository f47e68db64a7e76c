"""Stopping mail to a person: unsubscribes and dead addresses, whatever reported them (the
unsubscribe link, a reply asking for it, a feedback report, a hard bounce, Salesforce).

Salesforce opt-outs are brought back (the nightly sync): a Lead or Contact with Email Opt Out
(``HasOptedOutOfEmail``) unsubscribes the person here, as the unsubscribe link does, and ends
their running enrollments. Re-subscribes are never brought back (as in Sales Insight Actions);
our own unsubscribes already reach Salesforce at once with the activity log."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, or_, select

from cadence.core.db import run_db, session_scope
from cadence.core.models import ActivityKind, Enrollment, InvalidAddress, Person
from cadence.domain.contracts import (
    RUNNING_STATUSES,
    InboundEvent,
    InboundSignal,
    OptOutSyncInput,
    OptOutSyncResult,
)
from cadence.integrations.clients import salesforce_client, salesforce_failure
from cadence.integrations.salesforce import SalesforceError
from cadence.services import Heartbeat, no_heartbeat
from cadence.services.activity_log import record_activity

OPTED_OUT = "SELECT Id FROM {sobject} WHERE HasOptedOutOfEmail = true"


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


class OptOutSync:
    """Salesforce's email opt-outs brought back."""

    async def sync_from_salesforce(
        self, inp: OptOutSyncInput, heartbeat: Heartbeat = no_heartbeat
    ) -> OptOutSyncResult:
        """Read the opted-out Leads and Contacts and unsubscribe them here; whom to tell."""
        try:
            async with salesforce_client() as client:
                leads = await client.query(OPTED_OUT.format(sobject="Lead"))
                contacts = await client.query(OPTED_OUT.format(sobject="Contact"))
        except SalesforceError as err:
            raise salesforce_failure(err) from err
        lead_ids = [str(r["Id"]) for r in leads]
        contact_ids = [str(r["Id"]) for r in contacts]
        heartbeat(len(lead_ids) + len(contact_ids))
        return await run_db(_apply, lead_ids, contact_ids)


def _apply(lead_ids: list[str], contact_ids: list[str]) -> OptOutSyncResult:
    result = OptOutSyncResult()
    with session_scope() as session:
        people = session.exec(
            select(Person).where(
                col(Person.unsubscribed).is_(False),
                or_(col(Person.sfdc_lead_id).in_(lead_ids),
                    col(Person.sfdc_contact_id).in_(contact_ids)),
            )
        ).all()  # fmt: skip
        for person in people:
            if unsubscribe(session, person, via="salesforce"):
                result.unsubscribed += 1
                for enrollment in running_enrollments(session, int(person.id or 0)):
                    result.signals.append(InboundSignal(
                        workflow_id=enrollment.workflow_id,
                        event=InboundEvent(kind="unsubscribe")))  # fmt: skip
    return result
