"""Incremental people sync driven by Marketo's lead changes.

Get Lead Changes (``/rest/v1/activities/leadchanges.json``) lists the New Lead activities and
the changes of the fields we sync, after a paging token. The token where the last sync stopped
is kept in the database (``syncstate``), so a sync with nothing new costs one call, and only the
people who changed are read again (by id, 300 per call). The first sync (Bulk Lead Extract)
stores the token of the moment it started; a database from before this (a watermark but no
token) gets one from its watermark.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cadence.core.db import run_db, session_scope
from cadence.core.models import SyncState, utcnow
from cadence.integrations.marketo import MarketoClient
from cadence.services import Heartbeat, no_heartbeat

TOKEN = "marketo_lead_changes_token"


def load_token() -> str | None:
    with session_scope() as session:
        row = session.get(SyncState, TOKEN)
        return row.value if row and row.value else None


def save_token(token: str) -> None:
    with session_scope() as session:
        row = session.get(SyncState, TOKEN) or SyncState(name=TOKEN, value="")
        row.value, row.updated_at = token, utcnow()
        session.add(row)


async def token_at(client: MarketoClient, moment: datetime) -> str:
    """The paging token of a moment (the first sync's start)."""
    return await client.get_paging_token(moment)


async def changed_leads(
    client: MarketoClient,
    since: datetime,
    fields: Sequence[str],
    heartbeat: Heartbeat = no_heartbeat,
) -> tuple[list[dict[str, Any]], str]:
    """The leads created or with one of ``fields`` changed since the stored token (else since
    ``since``), read again with those fields, and the token to go on from next time."""
    token = await run_db(load_token) or await client.get_paging_token(since)
    watched = [f for f in fields if f != "id"]
    lead_ids: dict[int, None] = {}
    while True:
        page = await client.get_lead_changes(token, watched)
        for item in page.activities:
            lead_ids[int(item["leadId"])] = None
        heartbeat(len(lead_ids))
        token = page.next_page_token
        if not page.more_result:
            break
    leads = await client.get_leads("id", list(lead_ids), list(fields)) if lead_ids else []
    return leads, token
