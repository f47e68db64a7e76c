"""Settings take effect: a worker starting with changed settings brings the schedules and the
long-running workflows (shippers, mailbox pollers) in line, and the running ones use the new
settings. The reconciliation runs against the dev server (schedules and visibility), in a
namespace of its own; the workflows' own handling of new settings is also tested under the
time-skipping server."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio import activity
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cadence.core.config import Settings
from cadence.domain.contracts import (
    IMAP_QUEUE,
    MARKETO_QUEUE,
    SALESFORCE_QUEUE,
    TASK_QUEUE,
    MailboxPollInput,
    MailboxPollResult,
    MailboxPollSettings,
    ShipBatchInput,
    ShipBatchResult,
    ShipperInput,
    ShipperSettings,
)
from tests.utils.waiting import eventually
from worker import reconcile_background
from workflows.inbound_mail import InboundMailWorkflow, MailboxPollerWorkflow
from workflows.shipper import ActivityShipperWorkflow

T = TypeVar("T")
CADENCE = Path(sys.executable).parent / "cadence"
RITA, BOB = "rita@seller.test", "bob@seller.test"


@dataclass
class Calls:
    """What the stand-in activities were asked: (destination, batch size) and poll times."""

    shipped: list[tuple[str, int]] = field(default_factory=list)
    polls: dict[str, list[float]] = field(default_factory=dict)

    def activities(self) -> dict[str, list[Callable[..., Any]]]:
        @activity.defn(name="ship_to_marketo")
        async def ship_to_marketo(inp: ShipBatchInput) -> ShipBatchResult:
            self.shipped.append(("marketo", inp.limit))
            return ShipBatchResult()

        @activity.defn(name="ship_to_salesforce")
        async def ship_to_salesforce(inp: ShipBatchInput) -> ShipBatchResult:
            self.shipped.append(("salesforce", inp.limit))
            return ShipBatchResult()

        @activity.defn(name="poll_mailbox")
        async def poll_mailbox(inp: MailboxPollInput) -> MailboxPollResult:
            self.polls.setdefault(inp.mailbox, []).append(time.monotonic())
            return MailboxPollResult(uidvalidity=1, last_uid=inp.last_uid + 1)

        return {
            MARKETO_QUEUE: [ship_to_marketo],
            SALESFORCE_QUEUE: [ship_to_salesforce],
            IMAP_QUEUE: [poll_mailbox],
        }


def workers(client: Client, calls: Calls) -> list[Worker]:
    main = Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=[ActivityShipperWorkflow, MailboxPollerWorkflow, InboundMailWorkflow],
    )
    return [main] + [
        Worker(client, task_queue=queue, activities=fns)
        for queue, fns in calls.activities().items()
    ]


@pytest.fixture
async def client(dev_env: WorkflowEnvironment) -> AsyncIterator[Client]:
    """A client of a namespace of its own on the dev server: nothing else runs there."""
    namespace = f"settings-{uuid.uuid4().hex[:8]}"
    await dev_env.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    own = await Client.connect(
        dev_env.client.service_client.config.target_host,
        namespace=namespace,
        data_converter=pydantic_data_converter,
    )
    yield own
    async for running in own.list_workflows("ExecutionStatus = 'Running'"):
        await own.get_workflow_handle(running.id).terminate("test over")
    async for schedule in await own.list_schedules():
        await own.get_schedule_handle(schedule.id).delete()


def settings(**changes: Any) -> Settings:
    """Marketo, Salesforce (with task sync) and two mailboxes; slow rounds, so that only a
    change of settings makes anything happen within the test."""
    values: dict[str, Any] = {
        "marketo_base_url": "https://1-ab.mktorest.test",
        "marketo_client_id": "mk",
        "marketo_client_secret": "mk-secret",
        "salesforce_base_url": "https://seller.my.salesforce.test",
        "salesforce_client_id": "sf",
        "salesforce_client_secret": "sf-secret",
        "salesforce_log": ["emails", "calls", "tasks"],
        "shipper_poll_seconds": 3600,
        "mailboxes": {
            RITA: {"inbox_url": "imap://127.0.0.1:1/INBOX", "poll_seconds": 3600},
            BOB: {"inbox_url": "imap://127.0.0.1:1/INBOX", "poll_seconds": 3600},
        },
    }
    return Settings(_env_file=None, **{**values, **changes})


async def status(client: Client, workflow_id: str) -> WorkflowExecutionStatus | None:
    return (await client.get_workflow_handle(workflow_id).describe()).status


async def schedule_exists(client: Client, schedule_id: str) -> bool:
    try:
        await client.get_schedule_handle(schedule_id).describe()
    except RPCError:
        return False
    return True


async def test_a_worker_started_with_changed_settings_brings_everything_in_line(
    client: Client,
) -> None:
    calls = Calls()
    running = workers(client, calls)
    async with running[0], running[1], running[2], running[3]:
        # Two workers start at once with the same settings: one of everything (both may
        # report a start that Temporal made once).
        first, second = await asyncio.gather(
            reconcile_background(client, settings()), reconcile_background(client, settings())
        )
        started = sorted({line.split(" (")[0] for line in first + second})
        assert started == [
            "mailbox-poll/bob@seller.test started",
            "mailbox-poll/rita@seller.test started",
            "schedule enrollment-sweep-schedule created",
            "schedule opt-out-sync-schedule created",
            "schedule people-sync-schedule created",
            "schedule task-sync-schedule created",
            "shipper/marketo started",
            "shipper/salesforce started",
        ]
        runs = [w.id async for w in client.list_workflows()]
        assert len(runs) == len(set(runs)) == 4
        await eventually(lambda: {("marketo", 300), ("salesforce", 200)} <= set(calls.shipped))
        await eventually(lambda: len(calls.polls.get(RITA, [])) == 1)
        assert await reconcile_background(client, settings()) == []  # nothing changed

        # The worker restarts with new settings.
        changed = settings(
            opt_out_sync_cron="30 3 * * *",
            people_sync_minutes=10,
            task_sync_minutes=2,
            enrollment_sweep_minutes=30,
            shipper_batch_marketo=50,
            mailboxes={RITA: {"inbox_url": "imap://127.0.0.1:1/INBOX", "poll_seconds": 5}},
        )
        actions = await reconcile_background(client, changed)
        assert sorted(actions) == [
            "mailbox-poll/bob@seller.test asked to stop (no longer configured)",
            "mailbox-poll/rita@seller.test reconfigured (poll_seconds 3600.0 -> poll_seconds 5.0)",
            "schedule enrollment-sweep-schedule updated (every 0:30:00)",
            "schedule opt-out-sync-schedule updated (cron '30 3 * * *' UTC)",
            "schedule people-sync-schedule updated (every 0:10:00)",
            "schedule task-sync-schedule updated (every 0:02:00)",
            "shipper/marketo reconfigured (batch_size 300, poll_seconds 3600.0 -> "
            "batch_size 50, poll_seconds 3600.0)",
        ]
        opt_out = await client.get_schedule_handle("opt-out-sync-schedule").describe()
        assert {(t.hour, t.minute) for t in opt_out.info.next_action_times} == {(3, 30)}
        people = await client.get_schedule_handle("people-sync-schedule").describe()
        assert [i.every for i in people.schedule.spec.intervals] == [timedelta(minutes=10)]
        tasks = await client.get_schedule_handle("task-sync-schedule").describe()
        assert [i.every for i in tasks.schedule.spec.intervals] == [timedelta(minutes=2)]
        sweep = await client.get_schedule_handle("enrollment-sweep-schedule").describe()
        assert [i.every for i in sweep.schedule.spec.intervals] == [timedelta(minutes=30)]

        # The running workflows use the new settings: the shipper its batch size at once,
        # Rita's poller its new rate; Bob's poller ends.
        await eventually(lambda: ("marketo", 50) in calls.shipped)
        await eventually(lambda: len(calls.polls[RITA]) >= 4, within=25)
        gaps = [b - a for a, b in zip(calls.polls[RITA][1:], calls.polls[RITA][2:], strict=False)]
        assert all(4.5 < gap < 15 for gap in gaps), gaps
        bob = "mailbox-poll/bob@seller.test"
        await eventually(lambda: _is(status(client, bob), WorkflowExecutionStatus.COMPLETED))
        assert await reconcile_background(client, changed) == []  # in line now

        # Salesforce is turned off: its shipper stops, its schedules go; Marketo's stay.
        off = changed.model_copy(
            update={"salesforce_base_url": None, "salesforce_client_id": None,
                    "salesforce_client_secret": None}
        )  # fmt: skip
        assert sorted(await reconcile_background(client, off)) == [
            "schedule opt-out-sync-schedule deleted (not configured)",
            "schedule task-sync-schedule deleted (not configured)",
            "shipper/salesforce asked to stop (no longer configured)",
        ]
        await eventually(
            lambda: _is(status(client, "shipper/salesforce"), WorkflowExecutionStatus.COMPLETED)
        )
        assert not await schedule_exists(client, "opt-out-sync-schedule")
        assert not await schedule_exists(client, "task-sync-schedule")
        assert await schedule_exists(client, "people-sync-schedule")
        assert await schedule_exists(client, "enrollment-sweep-schedule")  # no integration needed

        # Bob's mailbox comes back: a new poller.
        back = await reconcile_background(client, off.model_copy(update={"mailboxes": {
            **off.mailboxes, BOB: settings().mailboxes[BOB]}}))  # fmt: skip
        assert [a.split(" (")[0] for a in back] == [f"{bob} started"]
        assert await status(client, bob) == WorkflowExecutionStatus.RUNNING


async def _is(value: Awaitable[T | None], expected: T) -> bool:
    return bool(await value == expected)


# The workflows themselves, under the time-skipping server.


async def test_a_poller_told_new_settings_polls_at_the_new_rate_and_stops_when_told(
    time_env: WorkflowEnvironment,
) -> None:
    calls = Calls()
    queue = f"poller-{uuid.uuid4()}"
    imap = calls.activities()[IMAP_QUEUE]
    async with (
        Worker(time_env.client, task_queue=queue, workflows=[MailboxPollerWorkflow]),
        Worker(time_env.client, task_queue=IMAP_QUEUE, activities=imap),
    ):
        handle = await time_env.client.start_workflow(
            MailboxPollerWorkflow.run,
            MailboxPollInput(mailbox=RITA, poll_seconds=3600),
            id=f"mailbox-poll/{uuid.uuid4()}",
            task_queue=queue,
        )
        await time_env.sleep(timedelta(minutes=10))
        assert len(calls.polls[RITA]) == 1  # once an hour
        await handle.signal(MailboxPollerWorkflow.reconfigure, MailboxPollSettings(poll_seconds=5))
        await time_env.sleep(timedelta(seconds=61))
        assert 12 <= len(calls.polls[RITA]) - 1 <= 14  # at once, then every 5 s
        position = await handle.query(MailboxPollerWorkflow.position)
        assert position is not None and position.poll_seconds == 5 and position.last_uid >= 13
        await handle.signal(MailboxPollerWorkflow.stop)
        await handle.result()  # ends at once, without another poll
        polls = len(calls.polls[RITA])
        await time_env.sleep(timedelta(minutes=1))
        assert len(calls.polls[RITA]) == polls


async def test_a_shipper_told_new_settings_ships_with_them_and_stops_when_told(
    time_env: WorkflowEnvironment,
) -> None:
    calls = Calls()
    queue = f"shipper-{uuid.uuid4()}"
    marketo = calls.activities()[MARKETO_QUEUE]
    async with (
        Worker(time_env.client, task_queue=queue, workflows=[ActivityShipperWorkflow]),
        Worker(time_env.client, task_queue=MARKETO_QUEUE, activities=marketo),
    ):
        handle = await time_env.client.start_workflow(
            ActivityShipperWorkflow.run,
            ShipperInput(destination="marketo", batch_size=300, poll_seconds=3600),
            id=f"shipper/{uuid.uuid4()}",
            task_queue=queue,
        )
        await time_env.sleep(timedelta(minutes=10))
        assert calls.shipped == [("marketo", 300)]
        new = ShipperSettings(batch_size=50, poll_seconds=60)
        await handle.signal(ActivityShipperWorkflow.reconfigure, new)
        await time_env.sleep(timedelta(seconds=150))
        assert calls.shipped == [("marketo", 300)] + [("marketo", 50)] * 3  # now, +60 s, +120 s
        assert (await handle.query(ActivityShipperWorkflow.status))["settings"] == new.model_dump()
        await handle.signal(ActivityShipperWorkflow.stop)
        await handle.result()  # ends at once, without another round
        assert len(calls.shipped) == 4


def run_worker(env: dict[str, str], log: Path) -> str:
    """Start `cadence worker`, wait until it runs, stop it (SIGTERM); its log."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CADENCE_")}
    with log.open("w") as out:
        proc = subprocess.Popen([str(CADENCE), "worker"], env={**base, **env}, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "worker running on" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
    return log.read_text()


async def test_restarting_the_worker_with_changed_settings_changes_the_background_work(
    client: Client, database: str, tmp_path: Path
) -> None:
    env = {
        "CADENCE_DATABASE_URL": database,
        "CADENCE_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "CADENCE_TEMPORAL_NAMESPACE": client.namespace,
        "CADENCE_MARKETO_BASE_URL": "http://127.0.0.1:9",  # nobody listens: nothing ships
        "CADENCE_MARKETO_CLIENT_ID": "mk",
        "CADENCE_MARKETO_CLIENT_SECRET": "mk-secret",
        "CADENCE_SHIPPER_POLL_SECONDS": "3600",
    }
    first = await asyncio.to_thread(run_worker, env, tmp_path / "first.log")
    assert "marketo: on" in first and "salesforce: off (set CADENCE_SALESFORCE_BASE_URL" in first
    assert "smtp: off (set CADENCE_SMTP_HOST" in first and "mk-secret" not in first
    assert "background: schedule people-sync-schedule created (every 0:00:30)" in first
    assert "background: shipper/marketo started (batch_size 300" in first

    changed = {**env, "CADENCE_PEOPLE_SYNC_MINUTES": "7", "CADENCE_SHIPPER_BATCH_MARKETO": "40"}
    second = await asyncio.to_thread(run_worker, changed, tmp_path / "second.log")
    assert "background: schedule people-sync-schedule updated (every 0:07:00)" in second
    assert "background: shipper/marketo reconfigured (batch_size 300, poll_seconds 3600.0 -> " \
        "batch_size 40, poll_seconds 3600.0)" in second  # fmt: skip
    people = await client.get_schedule_handle("people-sync-schedule").describe()
    assert [i.every for i in people.schedule.spec.intervals] == [timedelta(minutes=7)]

    off = {k: v for k, v in changed.items() if "MARKETO" not in k}
    third = await asyncio.to_thread(run_worker, off, tmp_path / "third.log")
    assert "background: schedule people-sync-schedule deleted (not configured)" in third
    assert "background: shipper/marketo asked to stop (no longer configured)" in third
    assert "marketo: off" in third
    assert not await schedule_exists(client, "people-sync-schedule")
    # A worker stopped at once may leave a workflow task in flight until its timeout; the
    # signals sent meanwhile reach the history then.
    await eventually(lambda: _signals(client, "shipper/marketo", ["reconfigure", "stop"]))


async def _signals(client: Client, workflow_id: str, expected: list[str]) -> bool:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    signalled: Final = "workflow_execution_signaled_event_attributes"  # HasField takes a Literal
    names = [getattr(e, signalled).signal_name for e in history.events if e.HasField(signalled)]
    return names == expected


async def test_a_shipper_stopped_during_a_batch_ends_when_the_batch_is_over(
    time_env: WorkflowEnvironment,
) -> None:
    """The destination is turned off while a batch is on its way: the batch fails (the
    worker no longer has the integration) and the shipper ends there, without first waiting
    out its pause after a failure."""
    started, release = asyncio.Event(), asyncio.Event()

    @activity.defn(name="ship_to_marketo")
    async def ship_to_marketo(inp: ShipBatchInput) -> ShipBatchResult:
        started.set()
        await release.wait()
        raise ApplicationError("Marketo is off", type="NotConfigured", non_retryable=True)

    queue = f"shipper-{uuid.uuid4()}"
    async with (
        Worker(time_env.client, task_queue=queue, workflows=[ActivityShipperWorkflow]),
        Worker(time_env.client, task_queue=MARKETO_QUEUE, activities=[ship_to_marketo]),
    ):
        handle = await time_env.client.start_workflow(
            ActivityShipperWorkflow.run,
            ShipperInput(destination="marketo", batch_size=300, poll_seconds=3600),
            id=f"shipper/{uuid.uuid4()}",
            task_queue=queue,
        )
        await asyncio.wait_for(started.wait(), 30)  # the batch is on its way
        await handle.signal(ActivityShipperWorkflow.stop)
        release.set()
        await handle.result()
    events = (await handle.fetch_history()).events
    failed = next(e for e in events if e.HasField("activity_task_failed_event_attributes"))
    ended = events[-1].event_time.ToDatetime() - failed.event_time.ToDatetime()
    assert ended < timedelta(seconds=5)  # not the minute's pause after a failure
