"""Queries, updates and signals to enrollment workflows from HTTP (through call_workflow).
An enrollment whose workflow turns out not to be running is reconciled on the spot: how its
run ended is recorded on the row (cadence.services.reconcile), and the answer says so."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar, cast

from fastapi import HTTPException, status
from pydantic import BaseModel
from sqlmodel import Session
from temporalio.client import Client, WorkflowHandle
from temporalio.common import QueryRejectCondition
from temporalio.exceptions import TemporalError
from temporalio.workflow import UpdateMethodMultiParam

from api.workflow_calls import WorkflowGone, call_workflow, http_error
from cadence.core.config import get_settings
from cadence.core.models import Enrollment
from cadence.domain.contracts import (
    RUNNING_STATUSES,
    EnrollmentState,
    LocationSignal,
    TimelineEntry,
)
from cadence.services.people_location import mark_notified, pending_notices
from cadence.services.reconcile import reconcile
from workflows.enrollment import EnrollmentWorkflow

T = TypeVar("T")
Handle = WorkflowHandle[EnrollmentWorkflow, EnrollmentState]
WHAT = "The enrollment's workflow"


def ended_detail(row: Enrollment) -> str:
    reason = f": {row.end_reason}" if row.end_reason else ""
    note = f" ({row.end_note})" if row.end_note and row.status == "failed" else ""
    return f"The enrollment has ended ({row.status}{reason}){note}"


def require_running(row: Enrollment) -> None:
    if row.status not in RUNNING_STATUSES:
        raise HTTPException(status.HTTP_409_CONFLICT, ended_detail(row))


async def call_enrollment(
    session: Session,
    temporal: Client,
    row: Enrollment,
    call: Callable[[Handle], Awaitable[T]],
    gone: int = status.HTTP_409_CONFLICT,
) -> T:
    """Run ``call`` on the row's workflow; when it is not running, record how it ended."""
    handle = temporal.get_workflow_handle_for(EnrollmentWorkflow.run, row.workflow_id)
    try:
        return await call_workflow(call(handle), WHAT, gone)
    except WorkflowGone as err:
        if row.status not in RUNNING_STATUSES:
            raise
        grace = timedelta(seconds=get_settings().enrollment_start_grace_seconds)
        try:
            end = await reconcile(session, temporal, row, grace)
        except TemporalError:
            end = None  # Temporal cannot say more now: the first answer stands
        if end is None:
            raise
        raise HTTPException(err.status_code, ended_detail(row)) from err


# An update or signal of EnrollmentWorkflow (its method, e.g. EnrollmentWorkflow.pause), and
# the request it takes: another request type is a type error.
Request = TypeVar("Request", bound=BaseModel)
Update = Callable[[EnrollmentWorkflow, Request], EnrollmentState | Awaitable[EnrollmentState]]
Signal = Callable[[EnrollmentWorkflow, Request], None]


async def update_enrollment(
    session: Session,
    temporal: Client,
    row: Enrollment,
    update: Update[Request],
    argument: Request,
) -> EnrollmentState:
    """Run the enrollment workflow's ``update`` and return its state (409 with the reason
    when the workflow refuses or has ended)."""
    require_running(row)

    async def run(handle: Handle) -> EnrollmentState:
        # Every @workflow.update is one; the Callable type above is what checks the argument.
        method = cast(
            UpdateMethodMultiParam[[EnrollmentWorkflow, Request], EnrollmentState], update
        )
        return await handle.execute_update(method, argument)

    return await call_enrollment(session, temporal, row, run)


async def signal_enrollment(
    session: Session, temporal: Client, row: Enrollment, signal: Signal[Request], argument: Request
) -> None:
    require_running(row)
    await call_enrollment(session, temporal, row, lambda handle: handle.signal(signal, argument))


async def live_state(
    session: Session, temporal: Client, row: Enrollment
) -> tuple[EnrollmentState | None, str | None]:
    """The workflow's own view of a row, or why there is none. A running row's workflow
    must be open (a closed one is reconciled); an ended row's last state is read while
    Temporal keeps the run."""
    if row.status == "failed":
        return None, "The run stopped without finishing: it has no view of its own"
    running = row.status in RUNNING_STATUSES
    reject = QueryRejectCondition.NOT_OPEN if running else None
    try:
        state = await call_enrollment(
            session,
            temporal,
            row,
            lambda handle: handle.query(EnrollmentWorkflow.state, reject_condition=reject),
            gone=status.HTTP_404_NOT_FOUND,
        )
    except HTTPException as err:
        return None, str(err.detail)
    return state, None


async def timeline(session: Session, temporal: Client, row: Enrollment) -> list[TimelineEntry]:
    """The workflow's timeline; for a run that stopped without finishing, the steps it had
    not done are ``not_reached``."""
    gone = status.HTTP_404_NOT_FOUND
    if row.status in RUNNING_STATUSES:
        try:
            return await call_enrollment(
                session, temporal, row,
                lambda h: h.query(EnrollmentWorkflow.timeline,
                                  reject_condition=QueryRejectCondition.NOT_OPEN),
                gone=gone,
            )  # fmt: skip
        except HTTPException:
            if row.status in RUNNING_STATUSES:
                raise
    entries = await call_enrollment(
        session, temporal, row, lambda h: h.query(EnrollmentWorkflow.timeline), gone=gone
    )
    if row.status == "failed":
        for entry in entries:
            if entry.status in ("due", "task_open", "planned"):
                entry.status, entry.at = "not_reached", None
    return entries


async def tell_location(session: Session, temporal: Client, person_id: int) -> tuple[int, int]:
    """Signal the person's running enrollments their new zone and country (change_location),
    then mark the change told. Returns (told, pending): an enrollment Temporal could not be
    asked about now keeps the change pending, and the next people sync tells it; one whose
    run has ended needs no telling."""
    notices = pending_notices(session, limit=10_000, person_ids=[person_id])
    session.commit()  # nobody to tell is told

    async def tell(item: LocationSignal) -> str:
        handle = temporal.get_workflow_handle_for(EnrollmentWorkflow.run, item.workflow_id)
        try:
            await handle.signal(EnrollmentWorkflow.change_location, item.change)
        except TemporalError as err:
            return "ended" if isinstance(http_error(err), WorkflowGone) else "pending"
        return "told"

    results = await asyncio.gather(*(tell(item) for item in notices.signals))
    pending = results.count("pending")
    if pending == 0 and notices.versions:
        mark_notified(session, notices.versions)
        session.commit()
    return results.count("told"), pending
