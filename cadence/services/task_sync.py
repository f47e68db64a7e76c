"""The reps' reminder tasks synced both ways with Salesforce Tasks (``tasks`` in
CADENCE_SALESFORCE_LOG), as Sales Insight Actions does:

* out: a task created or changed here is upserted there (subject, Not Started / Completed,
  priority, due date, comments), keyed by the task so a retry updates the same Task;
* back: a Task completed in Salesforce completes the task here through its enrollment (so the
  cadence goes on, as when the rep completes it in the app); a changed priority, due date or
  comment is copied onto the task. Email tasks are never completed from Salesforce: that would
  send the draft unseen. Other Salesforce statuses are ignored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import col, or_, select

from cadence.core.db import run_db, session_scope
from cadence.core.models import Person, Task, TaskStatus, as_utc, utcnow
from cadence.domain.contracts import TaskDone, TaskSyncInput, TaskSyncResult
from cadence.integrations.clients import salesforce_client, salesforce_failure
from cadence.integrations.salesforce import MAX_COLLECTION, SalesforceError
from cadence.integrations.salesforce_tasks import (
    REMINDER_PRIORITY,
    TASK_KEY_FIELD,
    reminder_fields,
)
from cadence.services import Heartbeat, no_heartbeat

Complete = Callable[[str, TaskDone], Awaitable[bool]]
"""Completes a task through its enrollment (workflow id); False when that run has ended. The
worker gives one that calls the enrollment's ``complete_task`` update (tests give their own)."""
PRIORITY_BACK = {v: k for k, v in REMINDER_PRIORITY.items()}


@dataclass
class _Pending:
    task: Task
    person: Person
    seen: datetime  # the task's updated_at when read


def _to_push() -> list[_Pending]:
    with session_scope() as session:
        rows = session.exec(
            select(Task, Person)
            .join(Person, col(Person.id) == col(Task.person_id))
            .where(or_(col(Task.synced_at).is_(None), col(Task.updated_at) > col(Task.synced_at)))
            .where(or_(col(Person.sfdc_contact_id).is_not(None),
                       col(Person.sfdc_lead_id).is_not(None)))
            .order_by(col(Task.id))
            .limit(MAX_COLLECTION * 5)
        ).all()  # fmt: skip
        return [_Pending(t, p, t.updated_at) for t, p in rows]


def _pushed(done: list[tuple[int, str | None, datetime]]) -> None:
    """Remember the Salesforce ids; a task changed since it was read is pushed again."""
    with session_scope() as session:
        for task_id, sfdc_id, seen in done:
            task = session.get(Task, task_id)
            if task is None:
                continue
            task.sfdc_task_id = sfdc_id or task.sfdc_task_id
            task.synced_at = seen
            session.add(task)


def _open_in_salesforce() -> list[Task]:
    with session_scope() as session:
        return list(session.exec(
            select(Task).where(Task.status == TaskStatus.open, col(Task.sfdc_task_id).is_not(None))
        ).all())  # fmt: skip


def _copy_back(task_id: int, changes: dict[str, Any]) -> None:
    with session_scope() as session:
        task = session.get(Task, task_id)
        if task is None:
            return
        for name, value in changes.items():
            setattr(task, name, value)
        task.updated_at = task.synced_at = utcnow()  # it came from there: nothing to push
        session.add(task)


def _changes(task: Task, record: dict[str, Any]) -> dict[str, Any]:
    """What Salesforce changed on the task: priority, due date, comments."""
    changes: dict[str, Any] = {}
    priority = PRIORITY_BACK.get(str(record.get("Priority")))  # Low is ignored, as in MSIA
    if priority and priority != task.priority:
        changes["priority"] = priority
    due = record.get("ActivityDate")
    if due:
        day = date.fromisoformat(str(due))
        current = as_utc(task.due_at)
        if day != current.date():
            changes["due_at"] = current.replace(year=day.year, month=day.month, day=day.day)
    notes = record.get("Description")
    ours = "\n\n".join(x for x in (task.notes, task.outcome_notes) if x)
    if notes is not None and notes != ours:
        changes["notes"] = notes
    return changes


class TaskSync:
    """The sync, with the way to complete a task through its enrollment."""

    def __init__(self, complete: Complete) -> None:
        self.complete = complete

    async def sync(self, inp: TaskSyncInput, heartbeat: Heartbeat = no_heartbeat) -> TaskSyncResult:
        result = TaskSyncResult()
        try:
            async with salesforce_client() as client:
                pending = await run_db(_to_push)
                for start in range(0, len(pending), MAX_COLLECTION):
                    chunk = pending[start : start + MAX_COLLECTION]
                    saved = await client.upsert_collection(
                        "Task", TASK_KEY_FIELD,
                        [_new_or_update(p) for p in chunk],
                    )  # fmt: skip
                    done = [(int(p.task.id or 0), r.id, p.seen)
                            for p, r in zip(chunk, saved, strict=True) if r.success]  # fmt: skip
                    await run_db(_pushed, done)
                    result.pushed += len(done)
                    heartbeat(result.pushed)
                tasks = await run_db(_open_in_salesforce)
                by_id = {t.sfdc_task_id: t for t in tasks}
                ids = list(by_id)
                for start in range(0, len(ids), MAX_COLLECTION):
                    quoted = ", ".join(f"'{i}'" for i in ids[start : start + MAX_COLLECTION])
                    records = await client.query(
                        "SELECT Id, Status, Priority, ActivityDate, Description FROM Task "
                        f"WHERE Id IN ({quoted})"
                    )
                    for record in records:
                        await self._back(by_id[record["Id"]], record, result)
        except SalesforceError as err:
            raise salesforce_failure(err) from err
        return result

    async def _back(self, task: Task, record: dict[str, Any], result: TaskSyncResult) -> None:
        if record.get("Status") == "Completed" and task.type != "manual_email":
            notes = record.get("Description") or None
            done = TaskDone(step_id=task.step_id, status="completed",
                            outcome="completed in Salesforce", notes=notes)  # fmt: skip
            if await self.complete(task.workflow_id, done):
                result.completed += 1
            return
        changes = _changes(task, record)
        if changes:
            await run_db(_copy_back, int(task.id or 0), changes)
            result.updated += 1


def _new_or_update(pending: _Pending) -> dict[str, Any]:
    """TaskSubtype can only be set when the Task is made."""
    fields = reminder_fields(pending.task, pending.person)
    if pending.task.sfdc_task_id:
        fields.pop("TaskSubtype")
    return fields
