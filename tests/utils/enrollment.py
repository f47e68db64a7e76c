"""EnrollmentWorkflow under the time-skipping server with recorded stand-in activities."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cadence.domain.contracts import (
    SMTP_QUEUE,
    CloseTaskInput,
    CreateTaskInput,
    CreateTaskResult,
    EnrollmentInput,
    EnrollmentState,
    FinishEnrollmentInput,
    RecordStatusInput,
    SendEmailInput,
    SendEmailResult,
)
from workflows.enrollment import EnrollmentWorkflow


class Recorder:
    """Stand-ins for the real activities that remember what the workflow asked for."""

    def __init__(self, fail_steps: frozenset[str] = frozenset()) -> None:
        self.sends: list[tuple[SendEmailInput, datetime]] = []
        self.finished: list[FinishEnrollmentInput] = []
        self.tasks: list[tuple[CreateTaskInput, datetime]] = []
        self.closed: list[CloseTaskInput] = []
        self.statuses: list[str] = []  # pauses and resumes written to the database
        self.fail_steps = fail_steps

    def activities(self) -> tuple[Callable[..., Any], list[Callable[..., Any]]]:
        @activity.defn(name="send_email")
        async def send_email(inp: SendEmailInput) -> SendEmailResult:
            if inp.step_id in self.fail_steps and not inp.body.startswith("Fixed"):
                raise ApplicationError("missing value for {{company}}", type="TemplateError",
                                       non_retryable=True)  # fmt: skip
            at = activity.info().current_attempt_scheduled_time
            self.sends.append((inp, at))
            return SendEmailResult(
                status="sent", message_id=f"<{inp.step_id}@test>", subject="s", sent_at=at
            )

        @activity.defn(name="finish_enrollment")
        async def finish_enrollment(inp: FinishEnrollmentInput) -> None:
            self.finished.append(inp)

        @activity.defn(name="create_task")
        async def create_task(inp: CreateTaskInput) -> CreateTaskResult:
            self.tasks.append((inp, activity.info().current_attempt_scheduled_time))
            return CreateTaskResult(task_id=len(self.tasks))

        @activity.defn(name="close_task")
        async def close_task(inp: CloseTaskInput) -> None:
            self.closed.append(inp)

        @activity.defn(name="record_enrollment_status")
        async def record_enrollment_status(inp: RecordStatusInput) -> None:
            self.statuses.append(inp.status)

        return send_email, [finish_enrollment, create_task, close_task, record_enrollment_status]


async def run_enrollment(
    env: WorkflowEnvironment, recorder: Recorder, inp: EnrollmentInput
) -> tuple[WorkflowHandle[EnrollmentWorkflow, EnrollmentState], Worker, Worker]:
    send, others = recorder.activities()
    queue = f"test-{uuid.uuid4()}"
    main = Worker(env.client, task_queue=queue, workflows=[EnrollmentWorkflow], activities=others)
    smtp = Worker(env.client, task_queue=SMTP_QUEUE, activities=[send])
    handle = await env.client.start_workflow(
        EnrollmentWorkflow.run, inp, id=f"enrollment/test/{uuid.uuid4()}", task_queue=queue
    )
    return handle, main, smtp


ALWAYS_OPEN = """
name: Always open
settings: {skip_weekends: false, send_window: {start: "00:00", end: "23:59"}}
steps:
  - {id: a, day: 1, type: auto_email, send_at: immediately, subject: Hi, body: Hello}
  - {id: b, day: 4, type: auto_email, subject: Again, body: Hello again}
"""


WITH_CALL = """
name: Email, call, email
settings: {skip_weekends: false, holidays: "off", send_window: {start: "08:00", end: "18:00"}}
steps:
  - {id: intro, day: 1, type: auto_email, send_at: immediately, subject: Hi, body: Hello}
  - {id: call, day: 2, type: call, title: "Call {{first_name}}", autoskip_after: 3d}
  - {id: bump, day: 4, type: auto_email, send_at: "10:00", thread: true, body: Bump}
"""


async def wait_for_task(env: WorkflowEnvironment, recorder: Recorder) -> None:
    for _ in range(60):
        if recorder.tasks:
            return
        await env.sleep(timedelta(hours=4))
    raise AssertionError("no task was created")


TUESDAY = 1


async def wait_for_send(env: WorkflowEnvironment, recorder: Recorder, step_id: str) -> None:
    for _ in range(48):
        if any(s.step_id == step_id for s, _ in recorder.sends):
            return
        await env.sleep(timedelta(hours=1))
    raise AssertionError(f"{step_id} was not sent")


NY = ZoneInfo("America/New_York")

THREE_OPEN = """
name: Three, always open
settings: {skip_weekends: false, holidays: "off", send_window: {start: "08:00", end: "18:00"}}
steps:
  - {id: a, day: 1, type: auto_email, send_at: immediately, subject: Hi, body: Hello}
  - {id: b, day: 3, type: auto_email, send_at: "10:00", subject: Again, body: Hello again}
  - {id: c, day: 5, type: auto_email, send_at: "11:00", subject: Last, body: Bye}
"""

ONLY_Z = """
name: Always open, one new step
settings: {skip_weekends: false, holidays: "off", send_window: {start: "00:00", end: "23:59"}}
steps:
  - {id: z, day: 6, type: call, title: Call them}
"""
