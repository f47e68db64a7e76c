"""Shipping the activity log to Marketo (custom activities) and Salesforce (Tasks).

Each call ships the next rows that have no outcome yet at the destination and records, in one
transaction, every row's outcome and the new cursor. Nothing is lost on the way:

* the batch is "after the cursor and without an outcome", so a row whose transaction commits
  after a later one (PostgreSQL allocates ids before commit) is still found; the cursor, a
  low-water mark that only bounds the scan, moves to an id seen ``commit_grace_s`` ago at the
  earliest, and never past a row that has no outcome;
* a record the destination refused for now (``UNABLE_TO_LOCK_ROW``) gets no outcome and is
  sent again; the call then fails so that Temporal backs off;
* a person without a Marketo id or Salesforce id yet is ``deferred``, and shipped once a sync
  links them.

Salesforce writes are upserts keyed by the activity, so a retry after an ambiguous failure
never makes a second Task. Marketo has no idempotent write: when a call fails in a way that
may have added the activities all the same (a timeout, a dropped connection, a 5xx), its rows
are marked ``in_doubt`` before the retry; rows shipped from that state are counted as
possible duplicates on the cursor. Definite refusals (601, 606, 607, 615...) duplicate nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import col, exists, func, or_, select
from temporalio.exceptions import ApplicationError

from cadence.core.config import get_settings
from cadence.core.db import run_db, session_scope
from cadence.core.models import (
    ActivityKind,
    ActivityLog,
    Person,
    ShipCursor,
    ShipOutcome,
    SyncState,
    as_utc,
    utcnow,
)
from cadence.domain.contracts import ShipBatchInput, ShipBatchResult
from cadence.domain.instants import iso_z
from cadence.domain.salesforce_tasks import logged_kinds
from cadence.integrations.clients import (
    marketo_client,
    marketo_failure,
    salesforce_client,
    salesforce_failure,
)
from cadence.integrations.marketo import MarketoClient, MarketoError
from cadence.integrations.marketo_types import (
    ACTIVITY_TYPES,
    TYPES_BY_KIND,
    TYPES_VERSION,
    ensure_activity_types,
    marketo_attributes,
)
from cadence.integrations.salesforce import SalesforceError
from cadence.integrations.salesforce_tasks import TASK_KEY_FIELD, task_fields


@dataclass
class Item:
    activity: ActivityLog
    person: Person
    in_doubt: bool = False  # an earlier call that may have added it failed


@dataclass
class Outcome:
    status: str  # shipped | skipped (for good) | deferred (until the person is linked)
    remote_id: str | None = None
    reason: str | None = None


RETRY = None  # no outcome: the record is sent again


def _unshipped(destination: str) -> ColumnElement[bool]:
    return ~exists().where(
        col(ShipOutcome.activity_id) == col(ActivityLog.id),
        col(ShipOutcome.destination) == destination,
    )


def _linked(destination: str) -> ColumnElement[bool]:
    """The person has the id the destination needs."""
    if destination == "marketo":
        return col(Person.marketo_id).is_not(None)
    return or_(col(Person.sfdc_contact_id).is_not(None), col(Person.sfdc_lead_id).is_not(None))


def load_batch(destination: str, limit: int) -> list[Item]:
    """The next rows without an outcome (after the cursor), and deferred rows whose person
    has been linked since, oldest first."""
    with session_scope() as session:
        cursor = session.get(ShipCursor, destination)
        after = cursor.last_id if cursor else 0
        joined = select(ActivityLog, Person).join(
            Person, col(Person.id) == col(ActivityLog.person_id)
        )
        pending = session.exec(
            joined.where(col(ActivityLog.id) > after, _unshipped(destination))
            .order_by(col(ActivityLog.id))
            .limit(limit)
        ).all()
        again = session.exec(
            select(ActivityLog, Person, ShipOutcome.status)
            .join(Person, col(Person.id) == col(ActivityLog.person_id))
            .join(
                ShipOutcome,
                (col(ShipOutcome.activity_id) == col(ActivityLog.id))
                & (col(ShipOutcome.destination) == destination),
            )
            .where(
                or_(
                    col(ShipOutcome.status) == "in_doubt",
                    (col(ShipOutcome.status) == "deferred") & _linked(destination),
                )
            )
            .order_by(col(ActivityLog.id))
            .limit(limit)
        ).all()
        items = [Item(a, p) for a, p in pending]
        items += [Item(a, p, in_doubt=status == "in_doubt") for a, p, status in again]
        return sorted(items, key=lambda i: i.activity.id or 0)[:limit]


def mark_in_doubt(destination: str, items: list[Item], why: str) -> None:
    """Before retrying a call that may have gone through: remember which rows it carried.
    Rows that were in doubt already were a second send: each may be one more copy."""
    with session_scope() as session:
        for item in items:
            assert item.activity.id is not None
            session.merge(
                ShipOutcome(
                    activity_id=item.activity.id,
                    destination=destination,
                    status="in_doubt",
                    reason=why[:500],
                )
            )
        cursor = session.get(ShipCursor, destination) or ShipCursor(destination=destination)
        cursor.ambiguous_retries += 1
        cursor.possible_duplicates += sum(item.in_doubt for item in items)
        session.add(cursor)


def save_outcomes(
    destination: str, items: list[Item], outcomes: list[Outcome | None]
) -> ShipBatchResult:
    """Store the outcomes (``None``: send again) and advance the cursor atomically."""
    result = ShipBatchResult(examined=len(items))
    grace = timedelta(seconds=get_settings().shipper_commit_grace_seconds)
    with session_scope() as session:
        cursor = session.get(ShipCursor, destination) or ShipCursor(destination=destination)
        for item, outcome in zip(items, outcomes, strict=True):
            assert item.activity.id is not None
            if outcome is None:
                result.retrying += 1
                continue
            session.merge(
                ShipOutcome(
                    activity_id=item.activity.id,
                    destination=destination,
                    status=outcome.status,
                    remote_id=outcome.remote_id,
                    reason=outcome.reason,
                )
            )
            if outcome.status == "shipped":
                result.shipped += 1
                result.possible_duplicates += int(item.in_doubt)
            elif outcome.status == "deferred":
                result.deferred += 1
            else:
                result.skipped += 1
        session.flush()
        now = utcnow()
        if cursor.watermark_at is None or now - as_utc(cursor.watermark_at) >= grace:
            # Every id up to the watermark was committed (or rolled back) a grace ago.
            first_pending = session.exec(
                select(func.min(ActivityLog.id)).where(
                    col(ActivityLog.id) > cursor.last_id, _unshipped(destination)
                )
            ).one()
            safe = cursor.watermark_id
            if first_pending is not None:
                safe = min(safe, first_pending - 1)
            cursor.last_id = max(cursor.last_id, safe)
            cursor.watermark_id = session.exec(select(func.max(ActivityLog.id))).one() or 0
            cursor.watermark_at = now
        cursor.shipped += result.shipped
        cursor.skipped += result.skipped
        cursor.possible_duplicates += result.possible_duplicates
        cursor.updated_at = now
        session.add(cursor)
        result.last_id = cursor.last_id
    return result


def _refused_for_now(errors: list[dict[str, Any]]) -> bool:
    """A record-level failure that goes away by itself (a locked row, a busy org)."""
    return bool(errors) and all(e.get("statusCode") in RETRYABLE_RECORD_CODES for e in errors)


RETRYABLE_RECORD_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "ALL_OR_NONE_OPERATION_ROLLED_BACK", "SERVER_UNAVAILABLE",
     "REQUEST_LIMIT_EXCEEDED", "REQUEST_RUNNING_TOO_LONG"}
)  # fmt: skip


def _retry_later(destination: str, result: ShipBatchResult) -> None:
    """Fail the call after the rest of the batch was saved, so that Temporal backs off."""
    if result.retrying:
        raise ApplicationError(
            f"{destination}: {result.retrying} record(s) refused for now; they are sent again",
            type="RecordsRefusedForNow",
        )


_type_ids: dict[str, int] = {}
TYPES_STATE = "marketo_activity_types"


def _provisioned_version() -> str | None:
    with session_scope() as session:
        row = session.get(SyncState, TYPES_STATE)
        return row.value if row else None


def _save_provisioned_version() -> None:
    with session_scope() as session:
        row = session.get(SyncState, TYPES_STATE) or SyncState(name=TYPES_STATE, value="")
        row.value, row.updated_at = TYPES_VERSION, utcnow()
        session.add(row)


async def _marketo_type_ids(client: MarketoClient) -> dict[str, int]:
    """The activity type ids: one list call when this version of our types was provisioned
    before and all are approved; otherwise provision them (once)."""
    if not _type_ids:
        listed = {t.get("apiName"): t for t in await client.list_custom_activity_types()}
        ready = all(listed.get(t.api_name, {}).get("status") == "approved" for t in ACTIVITY_TYPES)
        if ready and await run_db(_provisioned_version) == TYPES_VERSION:
            _type_ids.update({t.kind: int(listed[t.api_name]["id"]) for t in ACTIVITY_TYPES})
        else:
            _type_ids.update(await ensure_activity_types(client))
            await run_db(_save_provisioned_version)
    return _type_ids


def marketo_row(item: Item, type_ids: dict[str, int]) -> dict[str, Any]:
    act = item.activity
    primary, attributes = marketo_attributes(act.kind, act.id or 0, act.subject, act.details)
    return {
        "leadId": item.person.marketo_id,
        "activityDate": iso_z(act.occurred_at, microseconds=True),
        "activityTypeId": type_ids[act.kind],
        "primaryAttributeValue": primary,
        "attributes": [{"apiName": k, "value": v} for k, v in attributes.items() if v is not None],
    }


class Shipping:
    """Ships the activity log's next rows to a destination (see the module's docstring)."""

    async def to_marketo(self, inp: ShipBatchInput) -> ShipBatchResult:
        return await ship_to_marketo(inp)

    async def to_salesforce(self, inp: ShipBatchInput) -> ShipBatchResult:
        return await ship_to_salesforce(inp)


async def ship_to_marketo(inp: ShipBatchInput) -> ShipBatchResult:
    items = await run_db(load_batch, "marketo", inp.limit)
    if not items:
        return ShipBatchResult()
    outcomes: list[Outcome | None] = [
        Outcome("deferred", reason="person has no Marketo id yet")
        if item.activity.kind in TYPES_BY_KIND
        else Outcome("skipped", reason="not logged to Marketo as an activity")
        for item in items
    ]
    sendable = [
        i
        for i, item in enumerate(items)
        if item.person.marketo_id and item.activity.kind in TYPES_BY_KIND
    ]
    if sendable:
        adding = False
        try:
            async with marketo_client() as client:
                type_ids = await _marketo_type_ids(client)
                rows = [marketo_row(items[i], type_ids) for i in sendable]
                adding = True
                results = await client.add_custom_activities(rows)
        except MarketoError as err:
            if adding and err.ambiguous:
                why = f"Marketo {err.code} while adding: it may have added them"
                await run_db(mark_in_doubt, "marketo", [items[i] for i in sendable], why)
            raise marketo_failure(err) from err
        outcomes = list(outcomes)
        for index, res in zip(sendable, results, strict=True):
            if res.get("status") == "added":
                outcomes[index] = Outcome("shipped", remote_id=res.get("marketoGUID"))
            else:
                errors = res.get("errors") or res.get("reasons") or []
                reason = "; ".join(f"{e.get('code')} {e.get('message')}" for e in errors)
                outcomes[index] = Outcome("skipped", reason=reason or str(res.get("status")))
    return await run_db(save_outcomes, "marketo", items, outcomes)


NOT_LOGGED = "not logged to Salesforce (CADENCE_SALESFORCE_LOG)"


def _linked_to_salesforce(person: Person) -> bool:
    return bool(person.sfdc_contact_id or person.sfdc_lead_id)


def _without_subtype(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k != "TaskSubtype"}


def _subtype_refused(errors: list[dict[str, Any]]) -> bool:
    """The Task exists already (a retry): TaskSubtype can only be set when it is created."""
    return any(
        e.get("statusCode") == "INVALID_FIELD_FOR_INSERT_UPDATE"
        and "TaskSubtype" in (e.get("fields") or [str(e.get("message"))])
        for e in errors
    )


async def ship_to_salesforce(inp: ShipBatchInput) -> ShipBatchResult:
    items = await run_db(load_batch, "salesforce", inp.limit)
    if not items:
        return ShipBatchResult()
    settings = get_settings()
    logged = logged_kinds(settings.salesforce_log)
    template = settings.salesforce_subject_template
    outcomes: list[Outcome | None] = [
        Outcome("deferred", reason="person has no Salesforce lead or contact id yet")
    ] * len(items)
    linked = [i for i, it in enumerate(items) if _linked_to_salesforce(it.person)]
    as_tasks = [i for i in linked if items[i].activity.kind in logged]
    opt_outs = {i: o for i in linked if (o := opt_out(items[i])) is not None}
    errors: dict[int, list[dict[str, Any]]] = {i: [] for i in [*as_tasks, *opt_outs]}
    task_ids: dict[int, str | None] = {}
    try:
        async with salesforce_client() as client:
            if as_tasks:
                tasks = [task_fields(items[i].activity, items[i].person, template)
                         for i in as_tasks]  # fmt: skip
                results = dict(zip(as_tasks, await client.upsert_collection(
                    "Task", TASK_KEY_FIELD, tasks), strict=True))  # fmt: skip
                existing = [i for i, r in results.items() if _subtype_refused(r.errors)]
                if existing:  # sent again after a lost answer: update what is there
                    again = [_without_subtype(tasks[as_tasks.index(i)]) for i in existing]
                    retried = await client.upsert_collection("Task", TASK_KEY_FIELD, again)
                    results |= dict(zip(existing, retried, strict=True))
                for i, res in results.items():
                    errors[i] += res.errors
                    task_ids[i] = res.id
            if opt_outs:
                updated = await client.update_collection(list(opt_outs.values()))
                for i, res in zip(opt_outs, updated, strict=True):
                    errors[i] += res.errors
    except SalesforceError as err:
        raise salesforce_failure(err) from err
    outcomes = list(outcomes)
    for i in linked:
        if i not in errors:
            outcomes[i] = Outcome("skipped", reason=NOT_LOGGED)
        elif not errors[i]:
            outcomes[i] = Outcome("shipped", remote_id=task_ids.get(i))
        elif _refused_for_now(errors[i]):
            outcomes[i] = RETRY  # the upsert makes a second try safe
        else:
            reason = "; ".join(f"{e.get('statusCode')} {e.get('message')}" for e in errors[i])
            outcomes[i] = Outcome("skipped", reason=reason)
    result = await run_db(save_outcomes, "salesforce", items, outcomes)
    _retry_later("salesforce", result)
    return result


def opt_out(item: Item) -> tuple[str, str, dict[str, Any]] | None:
    """An unsubscribe sets Email Opt Out on the person's Contact (else Lead) in Salesforce."""
    if item.activity.kind != ActivityKind.unsubscribe:
        return None
    person = item.person
    if person.sfdc_contact_id:
        return ("Contact", person.sfdc_contact_id, {"HasOptedOutOfEmail": True})
    if person.sfdc_lead_id:
        return ("Lead", person.sfdc_lead_id, {"HasOptedOutOfEmail": True})
    return None
