"""`cadence playbook simulate`: the real EnrollmentWorkflow under the time-skipping test server,
with stand-in activities that send nothing, to show when each step of a playbook would run for
a given lead, start instant and country.

The test server's clock starts at the present. A start in the future is reached by skipping
time; a start in the past is simulated by giving the workflow a clock offset (its only use).
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pendulum
from pydantic import AwareDatetime, BaseModel, ValidationError, model_validator
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cadence.core.temporal import register_search_attributes
from cadence.domain.calendar import resolve_timezone
from cadence.domain.contracts import (
    SMTP_QUEUE,
    CloseTaskInput,
    CreateTaskInput,
    CreateTaskResult,
    EnrollmentInput,
    EnrollmentState,
    FinishEnrollmentInput,
    InboundEvent,
    MarkSuccessRequest,
    OwnerSnapshot,
    PauseRequest,
    PersonSnapshot,
    RecordStatusInput,
    RemoveRequest,
    ResumeRequest,
    SendEmailInput,
    SendEmailResult,
    TaskDone,
)
from cadence.domain.playbook import Playbook
from cadence.domain.playbook_yaml import load_yaml
from cadence.services.enrolling import holiday_dates
from workflows.enrollment import EnrollmentWorkflow

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


@dataclass
class SimulatedStep:
    step: str
    type: str
    at: datetime  # in the lead's time zone

    def as_json(self) -> dict[str, str]:
        return {"step": self.step, "type": self.type, "at": self.at.isoformat()}


@dataclass
class Simulation:
    steps: list[SimulatedStep]
    timezone: str
    status: str
    end_reason: str | None


EVENT_TYPES = (
    "pause", "resume", "remove", "mark_success", "complete_task", "skip_task",
    "reply", "out_of_office", "bounce", "unsubscribe",
)  # fmt: skip
INBOUND = ("reply", "out_of_office", "bounce", "unsubscribe")


class SimulationEvent(BaseModel):
    """Something that happens to the enrollment at an instant (``--events`` file)."""

    at: AwareDatetime
    type: str
    step: str | None = None  # complete_task / skip_task: the task's step
    note: str | None = None
    return_date: date | None = None  # out_of_office: the day the person is back

    @model_validator(mode="after")
    def _known(self) -> SimulationEvent:
        if self.type not in EVENT_TYPES:
            raise ValueError(
                f"unknown event type {self.type!r}; use one of {', '.join(EVENT_TYPES)}"
            )
        if self.type in ("complete_task", "skip_task") and not self.step:
            raise ValueError(f"a {self.type} event names the task's step")
        return self


def load_events(text: str) -> list[SimulationEvent]:
    """A YAML or JSON list of events, in any order; returned by time. Read within the
    playbook limits (PlaybookError with the place when over)."""
    data = load_yaml(text)[1] or []
    if not isinstance(data, list):
        raise ValueError("the events file is a list of {at, type, step?, note?}")
    events = []
    for number, item in enumerate(data, start=1):
        try:
            events.append(SimulationEvent.model_validate(item))
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'event'}: "
                f"{e['msg'].removeprefix('Value error, ')}"
                for e in err.errors(include_url=False)
            )
            raise ValueError(f"event {number}: {problems}") from None
    return sorted(events, key=lambda e: e.at)


async def simulate(
    playbook: Playbook,
    start: datetime,
    lead_tz: str | None,
    owner_tz: str | None = None,
    country: str | None = None,
    events: list[SimulationEvent] | None = None,
) -> Simulation:
    """Run one enrollment of ``playbook`` from ``start`` and report each step that ran.
    Tasks are completed the moment they fall due unless an event completes or skips them."""
    if start.tzinfo is None:
        raise ValueError("the start instant needs a UTC offset or Z, e.g. 2026-12-01T09:00:00Z")
    events = events or []
    if events and events[0].at < start:
        raise ValueError(f"an event at {events[0].at.isoformat()} comes before the start")
    handled_tasks = {e.step for e in events if e.step}
    ran: list[tuple[str, datetime]] = []
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER),
        data_converter=pydantic_data_converter,
        runtime=_quiet_runtime(),
    )
    try:
        await register_search_attributes(env.client)
        now = await env.get_current_time()
        offset = min(start - now, timedelta(0))  # negative for a start in the past
        if start > now:
            await env.sleep(start - now)

        @activity.defn(name="send_email")
        async def send_email(inp: SendEmailInput) -> SendEmailResult:
            at = activity.info().current_attempt_scheduled_time + offset
            if all(step_id != inp.step_id for step_id, _ in ran):
                # A manual email was listed when its task fell due; its send is the same step.
                ran.append((inp.step_id, at))
            message_id = f"<{inp.step_id}.{uuid.uuid4().hex[:8]}@simulation>"
            return SendEmailResult(status="sent", message_id=message_id, subject="", sent_at=at)

        @activity.defn(name="finish_enrollment")
        async def finish_enrollment(inp: FinishEnrollmentInput) -> None:
            return None

        @activity.defn(name="create_task")
        async def create_task(inp: CreateTaskInput) -> CreateTaskResult:
            ran.append((inp.step_id, activity.info().current_attempt_scheduled_time + offset))
            if inp.step_id in handled_tasks:  # an event completes or skips it
                return CreateTaskResult(task_id=len(ran))
            done = TaskDone(step_id=inp.step_id, status="completed", outcome="simulated")
            return CreateTaskResult(task_id=len(ran), done=done)

        @activity.defn(name="close_task")
        async def close_task(inp: CloseTaskInput) -> None:
            return None

        @activity.defn(name="record_enrollment_status")
        async def record_enrollment_status(inp: RecordStatusInput) -> None:
            return None

        tz = resolve_timezone(lead_tz, owner_tz, playbook.settings)
        inp = EnrollmentInput(
            enrollment_id=1,
            campaign_id=1,
            campaign_name=playbook.name,
            campaign_version=1,
            person=PersonSnapshot(
                id=1, email="lead@simulation.invalid", timezone=lead_tz, country=country
            ),
            owner=OwnerSnapshot(
                id=1, name="Owner", email="owner@simulation.invalid", timezone=owner_tz
            ),
            playbook=playbook,
            holiday_dates=holiday_dates(
                playbook, country, pendulum.instance(start).in_tz(tz).date()
            ),
            started_at=start,
            clock_offset=offset,
        )
        queue = f"simulate-{uuid.uuid4()}"
        main = Worker(env.client, task_queue=queue, workflows=[EnrollmentWorkflow],
                      activities=[finish_enrollment, create_task, close_task,
                                  record_enrollment_status])  # fmt: skip
        smtp = Worker(env.client, task_queue=SMTP_QUEUE, activities=[send_email])
        async with main, smtp:
            handle = await env.client.start_workflow(
                EnrollmentWorkflow.run, inp, id=f"simulation/{uuid.uuid4()}", task_queue=queue
            )
            for event in events:
                wait = (event.at - offset) - await env.get_current_time()
                if wait > timedelta(0):
                    await env.sleep(wait)
                await _apply(handle, event)
            state: EnrollmentState = await handle.result()
    finally:
        await env.shutdown()
    types = {s.id: s.type for s in playbook.steps}
    steps = [
        SimulatedStep(
            step_id,
            types[step_id],
            pendulum.instance(at).in_tz(state.timezone).replace(microsecond=0),
        )
        for step_id, at in ran
    ]
    end = state.end_reason.value if state.end_reason else None
    return Simulation(steps, state.timezone, state.status, end)


async def _apply(
    handle: WorkflowHandle[EnrollmentWorkflow, EnrollmentState], event: SimulationEvent
) -> None:
    """Send the event as the real system would; a refusal says which event and why."""
    try:
        if event.type in INBOUND:
            inbound = InboundEvent(kind=event.type, return_date=event.return_date)
            await handle.signal(EnrollmentWorkflow.inbound, inbound)
        elif event.type == "pause":
            await handle.execute_update(EnrollmentWorkflow.pause, PauseRequest(note=event.note))
        elif event.type == "resume":
            await handle.execute_update(EnrollmentWorkflow.resume, ResumeRequest())
        elif event.type == "remove":
            await handle.signal(EnrollmentWorkflow.remove, RemoveRequest(note=event.note))
        elif event.type == "mark_success":
            request = MarkSuccessRequest(note=event.note)
            await handle.execute_update(EnrollmentWorkflow.mark_success, request)
        else:
            status = "completed" if event.type == "complete_task" else "skipped"
            done = TaskDone(step_id=event.step or "", status=status, notes=event.note)
            await handle.execute_update(EnrollmentWorkflow.complete_task, done)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(err)
        raise ValueError(f"event {event.type} at {event.at.isoformat()}: {reason}") from err
    except RPCError as err:
        raise ValueError(
            f"event {event.type} at {event.at.isoformat()}: the enrollment had already ended"
        ) from err


def _quiet_runtime() -> Runtime:
    """A Temporal runtime that logs only errors (the test server's version warnings are
    noise to an author)."""
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
        )
    )


def parse_instant(text: str) -> datetime:
    """ISO 8601 with an offset (or Z)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset; add Z or +01:00")
    return value.astimezone(UTC)
