"""Enrollments whose run stopped without ending itself.

A workflow terminated by an operator (``temporal workflow terminate``), failed by a bug, timed
out, or deleted after the namespace's retention period never runs ``finish_enrollment``: its
row would say ``active`` for good. Whoever notices (a read, an update that finds the run
closed, an enrollment request, the periodic sweep) asks Temporal how the run ended and records
it: status ``failed`` with the end reason (terminated, failed, timed_out, canceled, not_found),
its open tasks cancelled. The person can then be enrolled again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistoryEventFilterType
from temporalio.service import RPCError, RPCStatusCode

from cadence.core.models import Enrollment, Task, TaskStatus, as_utc, utcnow
from cadence.domain.contracts import RUNNING_STATUSES, EndReason, EnrollmentState, EnrollmentStatus

log = logging.getLogger("cadence.services.reconcile")

STOPPED: dict[WorkflowExecutionStatus, EndReason] = {
    WorkflowExecutionStatus.TERMINATED: EndReason.terminated,
    WorkflowExecutionStatus.FAILED: EndReason.failed,
    WorkflowExecutionStatus.TIMED_OUT: EndReason.timed_out,
    WorkflowExecutionStatus.CANCELED: EndReason.canceled,
}
NOT_FOUND_NOTE = "Temporal has no run for it (deleted after the retention period, or never started)"


@dataclass(frozen=True)
class RunEnd:
    """How an enrollment's run ended, as Temporal tells it."""

    status: EnrollmentStatus
    end_reason: EndReason
    ended_at: datetime
    note: str | None = None

    def describe(self) -> str:
        text = f"{self.status.value}: {self.end_reason.value}"
        return f"{text} ({self.note})" if self.note else text


async def how_it_ended(
    client: Client, row: Enrollment, grace: timedelta, now: datetime | None = None
) -> RunEnd | None:
    """How the row's run ended; None while it runs, or while a young row's start may still be
    on its way (``grace``). Raises RPCError when Temporal cannot be asked."""
    now = now or utcnow()
    handle = client.get_workflow_handle(row.workflow_id, result_type=EnrollmentState)
    try:
        described = await handle.describe()
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        if now - as_utc(row.created_at) < grace:
            return None  # its start may still be on its way
        return RunEnd(EnrollmentStatus.failed, EndReason.not_found, now, NOT_FOUND_NOTE)
    status, ended_at = described.status, described.close_time or now
    if status == WorkflowExecutionStatus.COMPLETED:  # it ended itself: its own account
        state = await handle.result()
        reason = state.end_reason or EndReason.finished
        return RunEnd(EnrollmentStatus(state.status), reason, ended_at, state.end_note)
    if status not in STOPPED:
        return None  # running (or continued as new: the latest run is running)
    note = await _close_note(client, row.workflow_id, described.run_id)
    return RunEnd(EnrollmentStatus.failed, STOPPED[status], ended_at, note)


async def _close_note(client: Client, workflow_id: str, run_id: str) -> str | None:
    """The termination reason or the failure message, from the run's close event."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    events = handle.fetch_history_events(
        event_filter_type=WorkflowHistoryEventFilterType.CLOSE_EVENT
    )
    async for event in events:
        if event.HasField("workflow_execution_terminated_event_attributes"):
            attrs = event.workflow_execution_terminated_event_attributes
            who = f" by {attrs.identity}" if attrs.identity else ""
            return f"terminated{who}: {attrs.reason or 'no reason given'}"
        if event.HasField("workflow_execution_failed_event_attributes"):
            return f"failed: {event.workflow_execution_failed_event_attributes.failure.message}"
        if event.HasField("workflow_execution_timed_out_event_attributes"):
            return "the workflow execution timeout passed"
        if event.HasField("workflow_execution_canceled_event_attributes"):
            return "canceled"
    return None


def record_end(session: Session, row: Enrollment, end: RunEnd) -> bool:
    """Write how the run ended to a row that still says it runs (and cancel its open tasks,
    which nobody can complete any more). False when the row had ended already. No commit."""
    if row.status not in RUNNING_STATUSES:
        return False
    row.status, row.end_reason, row.end_note = end.status, end.end_reason.value, end.note
    row.ended_at = end.ended_at
    session.add(row)
    if end.status == EnrollmentStatus.failed:
        open_tasks = session.exec(
            select(Task).where(Task.enrollment_id == row.id, Task.status == TaskStatus.open)
        ).all()
        for task in open_tasks:
            task.status, task.closed_at, task.updated_at = (
                TaskStatus.cancelled,
                end.ended_at,
                utcnow(),
            )
            task.outcome_notes = f"the enrollment's run ended ({end.end_reason.value})"
            session.add(task)
        log.warning(
            "enrollment %s (%s) stopped without finishing: %s",
            row.id, row.workflow_id, end.describe(),
        )  # fmt: skip
    return True


async def reconcile(
    session: Session, client: Client, row: Enrollment, grace: timedelta
) -> RunEnd | None:
    """If the row's run has ended, record how (committed) and return it."""
    if row.status not in RUNNING_STATUSES:
        return None
    end = await how_it_ended(client, row, grace)
    if end is not None and record_end(session, row, end):
        session.commit()
    return end
