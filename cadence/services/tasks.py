"""The rep's tasks in the app database: created when a task step falls due, closed when the
rep completes or skips it (or the enrollment ends first)."""

from __future__ import annotations

from sqlmodel import select
from temporalio.exceptions import ApplicationError

from cadence.core.db import run_db, session_scope
from cadence.core.models import ActivityKind, Person, Task, TaskStatus, utcnow
from cadence.domain.contracts import CloseTaskInput, CreateTaskInput, CreateTaskResult
from cadence.domain.templates import TemplateError, person_values, render
from cadence.services.activity_log import record_activity


def _create(inp: CreateTaskInput) -> CreateTaskResult:
    key = f"{inp.workflow_id}/{inp.step_id}"
    with session_scope() as session:
        existing = session.exec(select(Task).where(Task.key == key)).first()
        if existing is not None and existing.id is not None:
            return CreateTaskResult(task_id=existing.id)
        person = session.get(Person, inp.person_id)
        if person is None:
            raise ApplicationError(f"person {inp.person_id} not found", non_retryable=True)
        values = person_values(person)
        try:
            title = render(inp.title, values)
        except TemplateError:
            title = inp.title  # a to-do with a raw placeholder beats no to-do
        task = Task(
            key=key,
            enrollment_id=inp.enrollment_id,
            workflow_id=inp.workflow_id,
            step_id=inp.step_id,
            type=inp.type,
            title=title[:255],
            notes=inp.notes,
            priority=inp.priority,
            person_id=inp.person_id,
            owner_id=inp.owner_id,
            due_at=inp.due_at,
        )
        session.add(task)
        session.flush()
        assert task.id is not None
        return CreateTaskResult(task_id=task.id)


def _close(inp: CloseTaskInput) -> None:
    with session_scope() as session:
        task = session.get(Task, inp.task_id)
        if task is None or task.workflow_id != inp.workflow_id or task.status != TaskStatus.open:
            return  # closed already (a retry), or not this run's task
        task.status = TaskStatus(inp.status)
        task.outcome, task.outcome_notes, task.closed_at = inp.outcome, inp.notes, inp.closed_at
        task.updated_at = utcnow()  # the reminder-task sync pushes the change
        session.add(task)
        if inp.status == "completed" and task.type == "call":
            record_activity(
                session,
                key=f"{task.key}/call",
                kind=ActivityKind.call,
                person_id=task.person_id,
                subject=task.title,
                enrollment_id=task.enrollment_id,
                user_id=task.owner_id,
                occurred_at=inp.closed_at,
                details={"step_id": task.step_id, "outcome": inp.outcome, "notes": inp.notes},
            )


class Tasks:
    """The rep's tasks, created and closed by their enrollment."""

    async def create(self, inp: CreateTaskInput) -> CreateTaskResult:
        """Create the rep's task for a step (idempotent per enrollment and step)."""
        return await run_db(_create, inp)

    async def close(self, inp: CloseTaskInput) -> None:
        """Record how the task ended; a completed call is logged as a sales call."""
        await run_db(_close, inp)
