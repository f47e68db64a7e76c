"""Salesforce opt-outs brought back (the nightly sync): a Lead or Contact with Email Opt Out
(``HasOptedOutOfEmail``) unsubscribes the person here, as the unsubscribe link does, and ends
their running enrollments. Re-subscribes are never brought back (as in Sales Insight Actions);
our own unsubscribes already reach Salesforce at once with the activity log."""

from __future__ import annotations

from sqlmodel import col, or_, select
from temporalio import activity

from cadence.core.db import run_db, session_scope
from cadence.core.models import Person
from cadence.domain.contracts import InboundEvent, InboundSignal, OptOutSyncInput, OptOutSyncResult
from cadence.integrations.clients import salesforce_client, salesforce_failure
from cadence.integrations.salesforce import SalesforceError
from cadence.services.optout import running_enrollments, unsubscribe

OPTED_OUT = "SELECT Id FROM {sobject} WHERE HasOptedOutOfEmail = true"


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


@activity.defn
async def sync_opt_outs_from_salesforce(inp: OptOutSyncInput) -> OptOutSyncResult:
    """Read the opted-out Leads and Contacts and unsubscribe them here; returns whom to tell."""
    try:
        async with salesforce_client() as client:
            leads = await client.query(OPTED_OUT.format(sobject="Lead"))
            contacts = await client.query(OPTED_OUT.format(sobject="Contact"))
    except SalesforceError as err:
        raise salesforce_failure(err) from err
    lead_ids = [str(r["Id"]) for r in leads]
    contact_ids = [str(r["Id"]) for r in contacts]
    activity.heartbeat(len(lead_ids) + len(contact_ids))
    return await run_db(_apply, lead_ids, contact_ids)
