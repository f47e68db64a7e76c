"""Background work kept in line with the settings: Temporal schedules and long-running
workflows, reconciled at every worker start.

The worker describes what the settings want (`WantedSchedule`, `WantedWorkflow`); `reconcile`
compares it with what the Temporal namespace holds and acts:

- a schedule is created when missing, updated when its spec or action changed (its paused
  state and note are kept) and deleted when the settings no longer want it. What it was made
  from is kept in its action's memo (the server turns cron strings into calendars, so the
  spec cannot be compared as given);
- a long-running workflow is started when missing (a new run carries the last run's state,
  e.g. a mailbox cursor), sent its new settings by the ``reconfigure`` signal when they
  changed (applied at its next round and carried across continue-as-new), and sent ``stop``
  when the settings no longer want it (it ends after its current round). Its current settings
  are read from the history of its latest run: the start input, then the ``reconfigure`` and
  ``stop`` signals after it, so the answer holds even before a worker has applied them.

Every step is idempotent and safe when several workers start at once (create-or-update,
start with USE_EXISTING, signal-with-start); each action is logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType, PendingWorkflowTaskState
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowExecutionStatus,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

log = logging.getLogger("cadence.worker")

RECONFIGURE = "reconfigure"  # the signal carrying new settings to a long-running workflow
STOP = "stop"  # the signal ending it after its current round
MEMO_KEY = "cadence.settings"  # where a schedule's action keeps what it was made from
TASK_WAITS, TASK_WAIT_S = 10, 0.1  # how long to wait for a workflow task in flight to end
PARALLEL = 8  # schedules and workflows looked at at once


@dataclass(frozen=True)
class WantedSchedule:
    """A schedule starting ``workflow`` (a run method) by ``cron`` (UTC) or ``every``, or, when
    not ``enabled``, a schedule that must not exist."""

    id: str
    enabled: bool
    workflow: Callable[..., Any]
    input: BaseModel
    workflow_id: str
    task_queue: str
    cron: str | None = None
    every: timedelta | None = None

    def fingerprint(self) -> str:
        return json.dumps(
            {
                "workflow": getattr(self.workflow, "__qualname__", str(self.workflow)),
                "input": self.input.model_dump(mode="json"),
                "id": self.workflow_id,
                "task_queue": self.task_queue,
                "cron": self.cron,
                "every_s": self.every.total_seconds() if self.every else None,
            },
            sort_keys=True,
        )

    def spec(self) -> ScheduleSpec:
        if self.cron:
            return ScheduleSpec(cron_expressions=[self.cron])
        assert self.every is not None, f"{self.id}: give cron or every"
        return ScheduleSpec(intervals=[ScheduleIntervalSpec(every=self.every)])

    def action(self) -> ScheduleActionStartWorkflow:
        return ScheduleActionStartWorkflow(
            self.workflow,
            self.input,
            id=self.workflow_id,
            task_queue=self.task_queue,
            memo={MEMO_KEY: self.fingerprint()},
        )

    def schedule(self) -> Schedule:
        return Schedule(
            action=self.action(),
            spec=self.spec(),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        )

    def describe(self) -> str:
        return f"cron {self.cron!r} UTC" if self.cron else f"every {self.every}"


@dataclass(frozen=True)
class WantedWorkflow:
    """A workflow that runs for good. ``settings`` is the part of its input that follows the
    settings (what ``reconfigure`` carries); ``start`` is the input of a first run."""

    workflow_id: str
    run: Callable[..., Any]
    start: BaseModel
    settings: BaseModel
    task_queue: str


@dataclass
class _Current:
    running: bool
    start: BaseModel | None  # the latest run's input
    settings: BaseModel | None  # what it uses, or will at its next round
    stopping: bool
    # A workflow task was in flight throughout: signals sent meanwhile are held back from the
    # history until it ends (a worker that died holding it: its timeout), so send anyway.
    unsure: bool = False


async def reconcile(
    client: Client,
    schedules: list[WantedSchedule],
    workflows: list[WantedWorkflow],
    managed_types: list[str],
) -> list[str]:
    """Bring the namespace in line; the actions taken, as logged. ``managed_types``: the
    workflow types whose running workflows are stopped when nothing in ``workflows`` wants
    them (a mailbox removed from the settings, an integration turned off)."""
    limit = asyncio.Semaphore(PARALLEL)

    async def one(step: Awaitable[list[str]]) -> list[str]:
        async with limit:
            lines = await step
        for line in lines:
            log.info("background: %s", line)
        return lines

    wanted_ids = {w.workflow_id for w in workflows}
    unwanted = []
    for type_name in managed_types:
        query = f"WorkflowType = '{type_name}' AND ExecutionStatus = 'Running'"
        unwanted += [w.id async for w in client.list_workflows(query) if w.id not in wanted_ids]
    steps = [
        *(_schedule(client, wanted) for wanted in schedules),
        *(_workflow(client, wanted) for wanted in workflows),
        *(_stop(client, workflow_id) for workflow_id in unwanted),
    ]
    return [line for lines in await asyncio.gather(*map(one, steps)) for line in lines]


async def _schedule(client: Client, wanted: WantedSchedule) -> list[str]:
    handle = client.get_schedule_handle(wanted.id)
    if not wanted.enabled:
        try:
            await handle.delete()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return []
            raise
        return [f"schedule {wanted.id} deleted (not configured)"]
    try:
        await client.create_schedule(wanted.id, wanted.schedule())
        return [f"schedule {wanted.id} created ({wanted.describe()})"]
    except ScheduleAlreadyRunningError:
        pass
    changed: list[str] = []

    def update(given: ScheduleUpdateInput) -> ScheduleUpdate | None:
        current = given.description.schedule
        if _made_from(client, current) == wanted.fingerprint():
            return None
        changed.append(f"schedule {wanted.id} updated ({wanted.describe()})")
        fresh = wanted.schedule()
        return ScheduleUpdate(
            schedule=replace(current, spec=fresh.spec, action=fresh.action, policy=fresh.policy)
        )

    await handle.update(update)
    return changed


def _made_from(client: Client, schedule: Schedule) -> str | None:
    action = schedule.action
    memo = action.memo if isinstance(action, ScheduleActionStartWorkflow) else None
    payload = memo.get(MEMO_KEY) if memo else None
    if payload is None:
        return None
    value = client.data_converter.payload_converter.from_payloads([payload])[0]
    return value if isinstance(value, str) else None


async def _workflow(client: Client, wanted: WantedWorkflow) -> list[str]:
    current = await _read(client, wanted.workflow_id, type(wanted.start), type(wanted.settings))
    if current is None or not current.running:
        start = wanted.start
        if current is not None and isinstance(current.start, type(wanted.start)):
            start = current.start.model_copy(update=wanted.settings.model_dump())
        handle = await client.start_workflow(
            wanted.run,
            start,
            id=wanted.workflow_id,
            task_queue=wanted.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        return [
            f"{wanted.workflow_id} started ({_show(wanted.settings)}, run {handle.result_run_id})"
        ]
    if current.settings == wanted.settings and not current.stopping and not current.unsure:
        return []
    # Signal-with-start: should the run end meanwhile, a new one starts with the settings.
    await client.start_workflow(
        wanted.run,
        wanted.start,
        id=wanted.workflow_id,
        task_queue=wanted.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal=RECONFIGURE,
        start_signal_args=[wanted.settings],
    )
    was = "stopping" if current.stopping else _show(current.settings)
    return [f"{wanted.workflow_id} reconfigured ({was} -> {_show(wanted.settings)})"]


async def _stop(client: Client, workflow_id: str) -> list[str]:
    current = await _read(client, workflow_id, None, None)
    if current is None or not current.running or (current.stopping and not current.unsure):
        return []
    try:
        await client.get_workflow_handle(workflow_id).signal(STOP)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return []  # it ended meanwhile
        raise
    return [f"{workflow_id} asked to stop (no longer configured)"]


async def _read(
    client: Client,
    workflow_id: str,
    start_type: type[BaseModel] | None,
    settings_type: type[BaseModel] | None,
) -> _Current | None:
    """The latest run of ``workflow_id`` as its history tells it: running or not, its start
    input, and the settings it uses once the signals it was sent are applied."""
    for attempt in range(TASK_WAITS + 1):
        try:
            described = await client.get_workflow_handle(workflow_id).describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        task = described.raw_description.pending_workflow_task
        in_flight = task.state == PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED
        if not in_flight or attempt == TASK_WAITS:
            break
        await asyncio.sleep(TASK_WAIT_S)  # a task in flight usually ends within milliseconds
    current = _Current(
        running=described.status == WorkflowExecutionStatus.RUNNING,
        start=None,
        settings=None,
        stopping=False,
        unsure=in_flight,
    )
    run = client.get_workflow_handle(workflow_id, run_id=described.run_id)
    async for event in run.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            if start_type is not None and payloads:
                [current.start] = await client.data_converter.decode(payloads, [start_type])
                if settings_type is not None:
                    current.settings = settings_type.model_validate(current.start.model_dump())
            if not current.running:
                break  # a closed run: only its input matters
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            signaled = event.workflow_execution_signaled_event_attributes
            if signaled.signal_name == STOP:
                current.stopping = True
            elif signaled.signal_name == RECONFIGURE:
                current.stopping = False
                if settings_type is not None and signaled.input.payloads:
                    [current.settings] = await client.data_converter.decode(
                        signaled.input.payloads, [settings_type]
                    )
    return current


def _show(settings: BaseModel | None) -> str:
    if settings is None:
        return "unknown settings"
    return ", ".join(f"{k} {v}" for k, v in settings.model_dump().items())
