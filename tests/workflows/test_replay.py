"""Enrollments recorded with earlier workflow code still replay with the current code.

Histories live in tests/histories/*.json. After a deliberate change to the workflow, guard it
with `workflow.patched(...)`, then record new histories beside the old ones (never replace
them): `CADENCE_RECORD_HISTORIES=1 .venv/bin/pytest tests/test_replay.py`.

The shipper and mailbox-poller histories include `*_v1_signals_to_old_code.json`: runs of the
code from before the ``reconfigure`` and ``stop`` signals that got them anyway (a worker of
the new code reconciling while old workers still ran them); the new code must ignore them
there (``workflow.patched``), as the old code did.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from cadence.domain.contracts import (
    IMAP_QUEUE,
    MARKETO_QUEUE,
    InboundEvent,
    InboundMailInput,
    InboundSignal,
    LocationChange,
    MailboxPollInput,
    MailboxPollResult,
    MailboxPollSettings,
    PauseRequest,
    PeopleSyncInput,
    PeopleSyncResult,
    RemoveRequest,
    ResumeRequest,
    ShipBatchInput,
    ShipBatchResult,
    ShipperInput,
    ShipperSettings,
    TaskDone,
)
from tests.utils.enrollment import ALWAYS_OPEN, WITH_CALL, Recorder, run_enrollment, wait_for_task
from tests.utils.factories import THREE_EMAILS, enrollment_input
from workflows.enrollment import EnrollmentWorkflow
from workflows.inbound_mail import InboundMailWorkflow, MailboxPollerWorkflow
from workflows.people_sync import PeopleSyncWorkflow
from workflows.shipper import ActivityShipperWorkflow

HISTORIES = Path(__file__).parent / "histories"
OOO = ALWAYS_OPEN.replace(
    'send_window: {start: "00:00", end: "23:59"}}',
    'send_window: {start: "00:00", end: "23:59"}, on_ooo: {action: pause_until_return}}',
)


async def test_recorded_enrollments_replay_with_the_current_code() -> None:
    files = sorted(HISTORIES.glob("*.json"))
    assert files, "no recorded histories"
    replayer = Replayer(
        workflows=[
            EnrollmentWorkflow,
            ActivityShipperWorkflow,
            MailboxPollerWorkflow,
            InboundMailWorkflow,
            PeopleSyncWorkflow,
        ],
        data_converter=pydantic_data_converter,
    )
    for path in files:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


@pytest.mark.skipif(
    os.environ.get("CADENCE_RECORD_HISTORIES") != "1", reason="records histories on request"
)
async def test_record_histories(time_env: WorkflowEnvironment) -> None:
    """The shapes: a full cadence, a removal, a pause then resume, a call, an out-of-office
    pause, and (v4 on) a change of the lead's zone while a step waits."""
    version = os.environ.get("CADENCE_HISTORY_VERSION", "v1")
    scenarios = {
        "completed": (THREE_EMAILS, None),
        "removed": (ALWAYS_OPEN, "remove"),
        "paused": (ALWAYS_OPEN, "pause"),
        "call": (WITH_CALL, "call"),
        "out_of_office": (OOO, "ooo"),
        "location": (ALWAYS_OPEN, "location"),
    }
    for name, (playbook, action) in scenarios.items():
        recorder = Recorder()
        handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(playbook))
        async with main, smtp:
            if action == "remove":
                await time_env.sleep(timedelta(hours=1))
                await handle.signal(EnrollmentWorkflow.remove, RemoveRequest(note="test"))
            elif action == "call":
                await wait_for_task(time_env, recorder)
                await handle.execute_update(
                    EnrollmentWorkflow.complete_task, TaskDone(step_id="call", outcome="ok")
                )
            elif action == "ooo":
                await time_env.sleep(timedelta(hours=1))
                back = (await time_env.get_current_time()).date() + timedelta(days=3)
                event = InboundEvent(kind="out_of_office", return_date=back)
                await handle.signal(EnrollmentWorkflow.inbound, event)
            elif action == "location":
                await time_env.sleep(timedelta(hours=1))
                change = LocationChange(version=1, timezone="Asia/Tokyo",
                                        timezone_source="override", country="JP",
                                        country_source="zone")  # fmt: skip
                await handle.signal(EnrollmentWorkflow.change_location, change)
            elif action == "pause":
                await time_env.sleep(timedelta(hours=1))
                await handle.execute_update(EnrollmentWorkflow.pause, PauseRequest())
                await time_env.sleep(timedelta(days=2))
                await handle.execute_update(EnrollmentWorkflow.resume, ResumeRequest())
            await handle.result()
        history = await handle.fetch_history()
        (HISTORIES / f"enrollment_{version}_{name}.json").write_text(history.to_json())


@pytest.mark.skipif(
    os.environ.get("CADENCE_RECORD_HISTORIES") != "1", reason="records histories on request"
)
async def test_record_background_histories(time_env: WorkflowEnvironment) -> None:
    """The long-running workflows: a shipper that drains, fails once and is woken, and a
    mailbox poller that hands a message to processing; both then get new settings and are
    stopped (v1, before those signals existed: terminated)."""
    version = os.environ.get("CADENCE_HISTORY_VERSION", "v1")
    answers = iter([300, 0, -1, 0, 0, 0, 0, 0])

    @activity.defn(name="ship_to_marketo")
    async def ship(inp: ShipBatchInput) -> ShipBatchResult:
        examined = next(answers, 0)
        if examined < 0:
            raise ApplicationError("not configured", type="NotConfigured", non_retryable=True)
        return ShipBatchResult(examined=examined, shipped=examined, last_id=examined)

    polls = iter([[], [InboundMailInput(inbound_id=1, sha256="ab" * 32)], []])

    @activity.defn(name="poll_mailbox")
    async def poll(inp: MailboxPollInput) -> MailboxPollResult:
        return MailboxPollResult(uidvalidity=7, last_uid=inp.last_uid + 1, stored=next(polls, []))

    @activity.defn(name="process_inbound")
    async def process(inp: InboundMailInput) -> list[InboundSignal]:
        return []

    queue = "background-histories"
    workers = [
        Worker(time_env.client, task_queue=queue, activities=[process],
               workflows=[ActivityShipperWorkflow, MailboxPollerWorkflow, InboundMailWorkflow]),
        Worker(time_env.client, task_queue=MARKETO_QUEUE, activities=[ship]),
        Worker(time_env.client, task_queue=IMAP_QUEUE, activities=[poll]),
    ]  # fmt: skip
    async with workers[0], workers[1], workers[2]:
        shipper = await time_env.client.start_workflow(
            ActivityShipperWorkflow.run,
            ShipperInput(destination="marketo", batch_size=300, poll_seconds=30),
            id="shipper/marketo",
            task_queue=queue,
        )
        poller = await time_env.client.start_workflow(
            MailboxPollerWorkflow.run,
            MailboxPollInput(mailbox="rita@seller.test", poll_seconds=60),
            id="mailbox-poll/rita@seller.test",
            task_queue=queue,
        )
        await time_env.sleep(timedelta(minutes=2))
        await shipper.signal(ActivityShipperWorkflow.wake)
        await time_env.sleep(timedelta(minutes=2))
        await shipper.signal(ActivityShipperWorkflow.reconfigure, ShipperSettings(batch_size=50,
                             poll_seconds=10))  # fmt: skip
        await poller.signal(MailboxPollerWorkflow.reconfigure, MailboxPollSettings(poll_seconds=5))
        await time_env.sleep(timedelta(seconds=30))
        for handle, name in ((shipper, "shipper"), (poller, "mailbox_poller")):
            await handle.signal("stop")
            await handle.result()
            history = await handle.fetch_history()
            (HISTORIES / f"{name}_{version}.json").write_text(history.to_json())


@pytest.mark.skipif(
    os.environ.get("CADENCE_RECORD_HISTORIES") != "1", reason="records histories on request"
)
async def test_record_people_sync_history(time_env: WorkflowEnvironment) -> None:
    """A people sync that brings two people in (v1: before it told running enrollments about
    changed locations)."""
    version = os.environ.get("CADENCE_HISTORY_VERSION", "v1")

    @activity.defn(name="sync_people_from_marketo")
    async def sync(inp: PeopleSyncInput) -> PeopleSyncResult:
        return PeopleSyncResult(created=2)

    workers = [
        Worker(time_env.client, task_queue="people-histories", workflows=[PeopleSyncWorkflow]),
        Worker(time_env.client, task_queue=MARKETO_QUEUE, activities=[sync]),
    ]
    async with workers[0], workers[1]:
        handle = await time_env.client.start_workflow(
            PeopleSyncWorkflow.run,
            PeopleSyncInput(),
            id="people-sync",
            task_queue="people-histories",
        )
        await handle.result()
        history = await handle.fetch_history()
    (HISTORIES / f"people_sync_{version}.json").write_text(history.to_json())
