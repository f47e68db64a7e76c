"""People sync from Marketo: new and changed leads (New Lead / Change Data Value activities)
since the last watermark, fetched by id, upserted into the people table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import select
from temporalio import activity

from activities.clients import marketo_client, marketo_failure
from cadence.db import run_db, session_scope
from cadence.integrations.marketo import MarketoError
from cadence.models import Person, SyncState, utcnow
from workflows.contracts import PeopleSyncInput, PeopleSyncResult

NEW_LEAD, CHANGE_DATA_VALUE = 12, 13
WATERMARK = "marketo_people_since"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

# Marketo REST name -> Person column: the 13 synced fields, plus owner and opt-out.
FIELD_MAP: dict[str, str] = {
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "phone": "phone",
    "company": "company",
    "title": "title",
    "sfdcContactId": "sfdc_contact_id",
    "sfdcLeadId": "sfdc_lead_id",
    "sfdcAccountId": "sfdc_account_id",
    "sfdcOpptyId": "sfdc_oppty_id",
    "linkedInProfileURL": "linkedin_url",
    "leadSource": "source",
    "sfdcLeadOwnerId": "sales_owner",
}
LEAD_FIELDS = ["id", *FIELD_MAP, "unsubscribed"]


def _read_watermark(full: bool) -> datetime:
    if full:
        return EPOCH
    with session_scope() as session:
        row = session.get(SyncState, WATERMARK)
        return datetime.fromisoformat(row.value) if row else EPOCH


def _upsert(leads: list[dict[str, Any]], watermark: datetime | None) -> PeopleSyncResult:
    result = PeopleSyncResult()
    with session_scope() as session:
        for lead in leads:
            email = (lead.get("email") or "").strip().lower()
            if not email:
                continue
            person = session.exec(select(Person).where(Person.marketo_id == lead["id"])).first()
            person = person or session.exec(select(Person).where(Person.email == email)).first()
            if person is None and not lead.get("sfdcLeadOwnerId"):
                result.ignored_without_owner += 1
                continue
            if person is None:
                person = Person(email=email)
                result.created += 1
            else:
                result.updated += 1
            person.marketo_id = lead["id"]
            for field, column in FIELD_MAP.items():
                value = lead.get(field)
                setattr(person, column, value.lower() if column == "email" and value else value)
            if lead.get("unsubscribed"):
                person.unsubscribed = True  # re-subscribes are never synced back
            person.updated_at = utcnow()
            session.add(person)
        if watermark is not None:
            row = session.get(SyncState, WATERMARK) or SyncState(name=WATERMARK, value="")
            row.value, row.updated_at = watermark.isoformat(), utcnow()
            session.add(row)
    return result


@activity.defn
async def sync_people_from_marketo(inp: PeopleSyncInput) -> PeopleSyncResult:
    since = await run_db(_read_watermark, inp.full)
    lead_ids: dict[int, None] = {}
    newest: datetime | None = None
    try:
        async with marketo_client() as client:
            token = await client.get_paging_token(since)
            while True:
                page = await client.get_activities(token, [NEW_LEAD, CHANGE_DATA_VALUE])
                for item in page.activities:
                    lead_ids[int(item["leadId"])] = None
                    when = datetime.fromisoformat(str(item["activityDate"]).replace("Z", "+00:00"))
                    newest = when if newest is None or when > newest else newest
                activity.heartbeat(len(lead_ids))
                token = page.next_page_token
                if not page.more_result:
                    break
            leads = await client.get_leads("id", list(lead_ids), LEAD_FIELDS) if lead_ids else []
    except MarketoError as err:
        raise marketo_failure(err) from err
    return await run_db(_upsert, leads, newest)
