"""People sync from Marketo into the people table: only people with a sales owner, the 13
fields Sales Insight Actions syncs and the location (address, mobile phone, inferred
location), Marketo as the source of truth. Every sync recomputes the zone and country in use
(cadence/services/people_location.py) and never touches a rep's overrides.

* The first sync (or ``full``) reads every lead with Bulk Lead Extract, in 31-day windows of
  ``createdAt`` from the oldest lead to now, up to 10 jobs at a time (Marketo runs 2 and
  queues 10), then upserts them in bulk. Its watermark is the time it started, so what
  changes meanwhile comes with the next sync.
* Later syncs are incremental, driven by Marketo's lead changes from the paging token the last
  sync stored (cadence/services/people_changes.py): only the people created or changed are
  read again (by id, 300 per call); nothing new costs one call.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import select

from cadence.core.config import get_settings
from cadence.core.db import run_db, session_scope
from cadence.core.models import Person, SyncState, utcnow
from cadence.domain.contracts import (
    LocationNotices,
    LocationNoticesInput,
    PeopleSyncInput,
    PeopleSyncResult,
)
from cadence.domain.instants import iso_z
from cadence.integrations.clients import marketo_client, marketo_failure
from cadence.integrations.marketo import MarketoClient, MarketoError
from cadence.services import Heartbeat, no_heartbeat, people_changes
from cadence.services.people_location import IN_USE, in_use, mark_notified, pending_notices

WATERMARK = "marketo_people_since"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
WINDOW = timedelta(days=31)
BULK_JOBS = 10  # Marketo queues 10 export jobs at most
MARKETO_BEGAN = datetime(2006, 1, 1, tzinfo=UTC)  # no lead is older

# Marketo REST name -> Person column: where the person is (free text) and what Marketo
# inferred from their first web visit.
LOCATION_FIELDS: dict[str, str] = {
    "country": "address_country",
    "state": "address_state",
    "city": "address_city",
    "postalCode": "address_postal_code",
    "mobilePhone": "mobile_phone",
    "inferredCountry": "inferred_country",
    "inferredStateRegion": "inferred_state",
    "inferredCity": "inferred_city",
}
# Marketo REST name -> Person column: the 13 synced fields, plus owner, opt-out and location.
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
    **LOCATION_FIELDS,
}
LEAD_FIELDS = ["id", *FIELD_MAP, "unsubscribed"]
KNOWN = ("timezone_override", "country_override", *IN_USE, "location_version")


def _read_watermark(full: bool) -> datetime | None:
    """Where the incremental sync goes on from; None: a first (full) sync is due."""
    if full:
        return None
    with session_scope() as session:
        row = session.get(SyncState, WATERMARK)
        return datetime.fromisoformat(row.value) if row else None


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _upsert(leads: list[dict[str, Any]], watermark: datetime | None) -> PeopleSyncResult:
    """Insert and update in bulk (a 100,000-lead first sync is a handful of statements): the
    person is found by Marketo id (a person no sync has linked yet: by email). Two leads with
    one address are two people. The zone and country in use are recomputed with each
    person's overrides (rows locked meanwhile, so an override set now waits for this sync);
    a change of them bumps the person's location version (running enrollments are told)."""
    result = PeopleSyncResult()
    now = utcnow()
    with session_scope() as session:
        columns = [getattr(Person, name) for name in ("id", "marketo_id", "email", *KNOWN)]
        rows = session.exec(select(*columns).with_for_update()).all() if leads else []
        by_marketo = {r.marketo_id: r.id for r in rows if r.marketo_id is not None}
        unlinked = {r.email: r.id for r in rows if r.marketo_id is None}  # from before a sync
        known = {r.id: r._mapping for r in rows}
        inserts: dict[int, dict[str, Any]] = {}  # by Marketo id: duplicates stay duplicates
        updates: dict[int, dict[str, Any]] = {}
        for lead in leads:
            email = (lead.get("email") or "").strip().lower()
            if not email or lead.get("id") is None:
                continue
            marketo_id = int(lead["id"])
            values: dict[str, Any] = {
                column: lead.get(field) for field, column in FIELD_MAP.items()
            }
            values |= {"email": email, "marketo_id": marketo_id, "updated_at": now}
            if _truthy(lead.get("unsubscribed")):
                values["unsubscribed"] = True  # re-subscribes are never synced back
            person_id = by_marketo.get(marketo_id)
            if person_id is None and email in unlinked:
                person_id = unlinked.pop(email)
            if person_id is not None:
                result.updated += person_id not in updates
                current = known[person_id]
                values |= in_use({**current, **values})
                if any(values[name] != current[name] for name in IN_USE):
                    values["location_version"] = current["location_version"] + 1
                updates[person_id] = {"id": person_id, **values}
            elif marketo_id in inserts:
                inserts[marketo_id] |= values
            elif not lead.get("sfdcLeadOwnerId"):
                result.ignored_without_owner += 1
            else:
                values |= in_use(values)
                inserts[marketo_id] = {"created_at": now, "unsubscribed": False, **values}
        result.created = len(inserts)
        if inserts:
            session.execute(insert(Person), list(inserts.values()))
        for keys in {frozenset(u) for u in updates.values()}:  # one statement per column set
            session.execute(update(Person), [u for u in updates.values() if frozenset(u) == keys])
        if watermark is not None:
            row = session.get(SyncState, WATERMARK) or SyncState(name=WATERMARK, value="")
            row.value, row.updated_at = watermark.isoformat(), utcnow()
            session.add(row)
    return result


async def _oldest_lead(client: MarketoClient) -> datetime:
    """When the oldest lead was created: lead ids grow from 1, so the first ids that exist
    are the oldest leads."""
    for start in range(1, 30_000, 300):
        found = await client.get_leads("id", list(range(start, start + 300)), ["createdAt"])
        stamps = [str(lead["createdAt"]) for lead in found if lead.get("createdAt")]
        if stamps:
            return min(datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps)
    return MARKETO_BEGAN


async def _export_everyone(
    client: MarketoClient, until: datetime, heartbeat: Heartbeat
) -> list[dict[str, Any]]:
    poll_s = get_settings().marketo_bulk_poll_seconds
    start = await _oldest_lead(client) - timedelta(seconds=1)
    windows = []
    while start < until:
        windows.append((start, min(start + WINDOW - timedelta(seconds=1), until)))
        start += WINDOW
    slots = asyncio.Semaphore(BULK_JOBS)
    done = 0

    async def one(window: tuple[datetime, datetime]) -> list[dict[str, Any]]:
        nonlocal done
        created = {"startAt": iso_z(window[0]), "endAt": iso_z(window[1])}
        async with slots:
            rows = await client.export_leads(
                LEAD_FIELDS, {"createdAt": created},
                poll_s=poll_s,
                on_wait=lambda state: heartbeat(f"{done} of {len(windows)}: {state}"),
            )  # fmt: skip
        done += 1
        heartbeat(f"{done} of {len(windows)} export windows")
        return rows

    leads: list[dict[str, Any]] = []
    for rows in await asyncio.gather(*(one(w) for w in windows)):
        leads += rows
    return leads


class PeopleSync:
    """People from Marketo, and the running enrollments to tell about their changes."""

    async def sync_from_marketo(
        self, inp: PeopleSyncInput, heartbeat: Heartbeat = no_heartbeat
    ) -> PeopleSyncResult:
        since = await run_db(_read_watermark, inp.full)
        started = datetime.now(UTC)
        try:
            async with marketo_client() as client:
                if since is None:
                    watermark = started - timedelta(minutes=1)  # what changed meanwhile comes next
                    token = await people_changes.token_at(client, watermark)
                    leads: list[Any] = await _export_everyone(client, started, heartbeat)
                else:
                    leads, token = await people_changes.changed_leads(
                        client, since, LEAD_FIELDS, heartbeat
                    )
                    watermark = started
        except MarketoError as err:
            raise marketo_failure(err) from err
        result = await run_db(_upsert, leads, watermark)
        await run_db(people_changes.save_token, token)
        return result

    async def location_notices(self, inp: LocationNoticesInput) -> LocationNotices:
        """The running enrollments to tell about their person's new zone or country."""
        return await run_db(_notices, inp.limit)

    async def mark_location_notified(self, notices: LocationNotices) -> None:
        """The enrollments were told: these people's changes are no longer pending."""
        await run_db(_mark, notices.versions)


def _notices(limit: int) -> LocationNotices:
    with session_scope() as session:
        return pending_notices(session, limit)


def _mark(versions: dict[int, int]) -> None:
    with session_scope() as session:
        mark_notified(session, versions)
