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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pendulum
from temporalio import activity
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cadence.enrolling import holiday_dates
from cadence.temporal import register_search_attributes
from workflows.calendar import resolve_timezone
from workflows.contracts import (
    SMTP_QUEUE,
    CloseTaskInput,
    CreateTaskInput,
    CreateTaskResult,
    EnrollmentInput,
    EnrollmentState,
    FinishEnrollmentInput,
    OwnerSnapshot,
    PersonSnapshot,
    SendEmailInput,
    SendEmailResult,
    TaskDone,
)
from workflows.enrollment import EnrollmentWorkflow
from workflows.playbook import Playbook

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


async def simulate(
    playbook: Playbook,
    start: datetime,
    lead_tz: str | None,
    owner_tz: str | None = None,
    country: str | None = None,
) -> Simulation:
    """Run one enrollment of ``playbook`` from ``start`` and report each step that ran."""
    if start.tzinfo is None:
        raise ValueError("the start instant needs a UTC offset or Z, e.g. 2026-12-01T09:00:00Z")
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
            ran.append((inp.step_id, at))
            message_id = f"<{inp.step_id}.{uuid.uuid4().hex[:8]}@simulation>"
            return SendEmailResult(status="sent", message_id=message_id, subject="", sent_at=at)

        @activity.defn(name="finish_enrollment")
        async def finish_enrollment(inp: FinishEnrollmentInput) -> None:
            return None

        @activity.defn(name="create_task")
        async def create_task(inp: CreateTaskInput) -> CreateTaskResult:
            ran.append((inp.step_id, activity.info().current_attempt_scheduled_time + offset))
            done = TaskDone(step_id=inp.step_id, status="completed", outcome="simulated")
            return CreateTaskResult(task_id=len(ran), done=done)

        @activity.defn(name="close_task")
        async def close_task(inp: CloseTaskInput) -> None:
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
                      activities=[finish_enrollment, create_task, close_task])  # fmt: skip
        smtp = Worker(env.client, task_queue=SMTP_QUEUE, activities=[send_email])
        async with main, smtp:
            state: EnrollmentState = await env.client.execute_workflow(
                EnrollmentWorkflow.run, inp, id=f"simulation/{uuid.uuid4()}", task_queue=queue
            )
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
