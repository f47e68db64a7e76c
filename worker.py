"""The Temporal worker: registers every workflow and activity, one task queue per external system.

Run with ``cadence worker`` (or ``python worker.py``). On start it says which integrations
are on and reconciles the background work with the settings: the schedules (people, opt-out
and task syncs, the enrollment sweep) and the long-running workflows (a shipper per
destination, a poller per mailbox) are created, updated, reconfigured or stopped to match
(cadence/background.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, NoReturn

from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.email import EmailActivities
from activities.enrollment_sweep import EnrollmentSweepActivities
from activities.enrollments import EnrollmentActivities
from activities.inbound import InboundActivities
from activities.optout import OptOutActivities
from activities.people import PeopleActivities
from activities.shipping import ShippingActivities
from activities.task_sync import TaskSyncActivities
from activities.tasks import TaskActivities
from cadence.core.background import WantedSchedule, WantedWorkflow, reconcile
from cadence.core.config import ConfigError, Settings, get_settings, off_hint
from cadence.core.logs import configure_logging
from cadence.core.temporal import connect
from cadence.domain.contracts import (
    IMAP_QUEUE,
    MARKETO_QUEUE,
    SALESFORCE_QUEUE,
    SMTP_QUEUE,
    TASK_QUEUE,
    EnrollmentSweepInput,
    MailboxPollInput,
    MailboxPollSettings,
    OptOutSyncInput,
    PeopleSyncInput,
    ShipperInput,
    ShipperSettings,
    TaskDone,
    TaskSyncInput,
)
from cadence.services.email.send import EmailSender
from cadence.services.enrollment_sweep import EnrollmentSweep
from cadence.services.enrollments import EnrollmentRecords
from cadence.services.inbound import InboundMail
from cadence.services.inbound_imap import MailboxReader
from cadence.services.optout import OptOutSync
from cadence.services.people import PeopleSync
from cadence.services.shipping import Shipping
from cadence.services.task_sync import Complete, TaskSync
from cadence.services.tasks import Tasks
from workflows.enrollment import EnrollmentWorkflow
from workflows.enrollment_sweep import ENROLLMENT_SWEEP, EnrollmentSweepWorkflow
from workflows.inbound_mail import InboundMailWorkflow, MailboxPollerWorkflow, poller_workflow_id
from workflows.optout_sync import OPT_OUT_SYNC, OptOutSyncWorkflow
from workflows.people_sync import PEOPLE_SYNC, PeopleSyncWorkflow
from workflows.sales_email import SalesEmailWorkflow
from workflows.scheduled import Scheduled
from workflows.shipper import ActivityShipperWorkflow, shipper_workflow_id
from workflows.task_sync import TASK_SYNC, TaskSyncWorkflow

log = logging.getLogger("cadence.worker")

WORKFLOWS = [
    EnrollmentWorkflow,
    SalesEmailWorkflow,
    ActivityShipperWorkflow,
    PeopleSyncWorkflow,
    InboundMailWorkflow,
    MailboxPollerWorkflow,
    OptOutSyncWorkflow,
    TaskSyncWorkflow,
    EnrollmentSweepWorkflow,
]


@dataclass(frozen=True)
class Activities:
    """Every activity, each a thin class around the service(s) it delegates to."""

    email: EmailActivities
    enrollments: EnrollmentActivities
    tasks: TaskActivities
    inbound: InboundActivities
    people: PeopleActivities
    shipping: ShippingActivities
    opt_outs: OptOutActivities
    task_sync: TaskSyncActivities
    sweep: EnrollmentSweepActivities


def task_completer(client: Client) -> Complete:
    """The task sync's way to complete a task: the enrollment's ``complete_task`` update."""

    async def complete(workflow_id: str, done: TaskDone) -> bool:
        handle = client.get_workflow_handle_for(EnrollmentWorkflow.run, workflow_id)
        try:
            await handle.execute_update(EnrollmentWorkflow.complete_task, done)
        except (WorkflowUpdateFailedError, RPCError):
            return False  # closed meanwhile, or the enrollment has ended
        return True

    return complete


def build_activities(client: Client) -> Activities:
    """The services, built once, and the activities around them."""
    return Activities(
        email=EmailActivities(EmailSender()),
        enrollments=EnrollmentActivities(EnrollmentRecords()),
        tasks=TaskActivities(Tasks()),
        inbound=InboundActivities(InboundMail(), MailboxReader()),
        people=PeopleActivities(PeopleSync()),
        shipping=ShippingActivities(Shipping()),
        opt_outs=OptOutActivities(OptOutSync()),
        task_sync=TaskSyncActivities(TaskSync(task_completer(client))),
        sweep=EnrollmentSweepActivities(EnrollmentSweep(client)),
    )


def smtp_worker(client: Client, settings: Settings, acts: Activities | None = None) -> Worker:
    """Sends email: a synchronous activity on its own thread pool."""
    acts = acts or build_activities(client)
    return Worker(
        client,
        task_queue=SMTP_QUEUE,
        activities=[acts.email.send_email],
        activity_executor=ThreadPoolExecutor(
            max_workers=settings.smtp_concurrency, thread_name_prefix="cadence-smtp"
        ),
        max_concurrent_activities=settings.smtp_concurrency,
        max_concurrent_activity_task_polls=20,
        max_task_queue_activities_per_second=settings.smtp_messages_per_second,
    )


def main_worker(client: Client, settings: Settings, acts: Activities | None = None) -> Worker:
    """Runs the workflows and their database activities."""
    acts = acts or build_activities(client)
    return Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=WORKFLOWS,
        activities=[
            acts.enrollments.finish_enrollment,
            acts.enrollments.record_enrollment_status,
            acts.tasks.create_task,
            acts.tasks.close_task,
            acts.inbound.process_inbound,
            acts.people.location_notices,
            acts.people.mark_location_notified,
            acts.sweep.sweep_enrollments,
        ],
        max_concurrent_workflow_tasks=200,
        max_concurrent_workflow_task_polls=20,
    )


def build_workers(client: Client, settings: Settings) -> list[Worker]:
    acts = build_activities(client)
    return [
        main_worker(client, settings, acts),
        smtp_worker(client, settings, acts),
        Worker(
            client,
            task_queue=MARKETO_QUEUE,
            activities=[acts.shipping.ship_to_marketo, acts.people.sync_people_from_marketo],
            max_concurrent_activities=5,
            max_task_queue_activities_per_second=settings.marketo_activities_per_second,
        ),
        Worker(
            client,
            task_queue=SALESFORCE_QUEUE,
            activities=[
                acts.shipping.ship_to_salesforce,
                acts.opt_outs.sync_opt_outs_from_salesforce,
                acts.task_sync.sync_reminder_tasks,
            ],
            max_concurrent_activities=10,
            max_task_queue_activities_per_second=settings.salesforce_activities_per_second,
        ),
        Worker(
            client,
            task_queue=IMAP_QUEUE,
            activities=[acts.inbound.poll_mailbox],
            max_concurrent_activities=10,
        ),
    ]


def _schedule(
    scheduled: Scheduled,
    run: Callable[..., Any],
    inp: BaseModel,
    enabled: bool,
    *,
    cron: str | None = None,
    minutes: float | None = None,
) -> WantedSchedule:
    """``run`` started by a schedule (its ids from ``scheduled``), by ``cron`` or every so
    many ``minutes``."""
    return WantedSchedule(
        id=scheduled.schedule_id, enabled=enabled, workflow=run, input=inp,
        workflow_id=scheduled.workflow_id, task_queue=TASK_QUEUE, cron=cron,
        every=timedelta(minutes=minutes) if minutes is not None else None,
    )  # fmt: skip


def background_schedules(settings: Settings) -> list[WantedSchedule]:
    """Every schedule the worker looks after, each wanted or not by the settings (one not
    wanted is deleted). To add one, add a row."""
    s, sf_on, mk_on = settings, settings.salesforce_configured, settings.marketo_configured
    sweep = EnrollmentSweepInput(start_grace_seconds=s.enrollment_start_grace_seconds)
    return [
        _schedule(OPT_OUT_SYNC, OptOutSyncWorkflow.run, OptOutSyncInput(), sf_on,
                  cron=s.opt_out_sync_cron),
        _schedule(TASK_SYNC, TaskSyncWorkflow.run, TaskSyncInput(),
                  sf_on and "tasks" in s.salesforce_log, minutes=s.task_sync_minutes),
        _schedule(PEOPLE_SYNC, PeopleSyncWorkflow.run, PeopleSyncInput(), mk_on,
                  minutes=s.people_sync_minutes),
        # runs that stopped without finishing are recorded as ended
        _schedule(ENROLLMENT_SWEEP, EnrollmentSweepWorkflow.run, sweep, True,
                  minutes=s.enrollment_sweep_minutes),
    ]  # fmt: skip


def background_workflows(settings: Settings) -> list[WantedWorkflow]:
    """The long-running workflows the settings want: a shipper per configured destination, a
    poller per mailbox with an inbox. Running ones of these types not listed are stopped."""
    wanted = []
    shippers: list[tuple[Literal["marketo", "salesforce"], bool, int]] = [
        ("marketo", settings.marketo_configured, settings.shipper_batch_marketo),
        ("salesforce", settings.salesforce_configured, settings.shipper_batch_salesforce),
    ]
    for destination, configured, batch in shippers:
        if configured:
            shipping = ShipperSettings(batch_size=batch, poll_seconds=settings.shipper_poll_seconds)
            wanted.append(WantedWorkflow(
                shipper_workflow_id(destination), ActivityShipperWorkflow.run,
                ShipperInput(destination=destination, **shipping.model_dump()), shipping,
                TASK_QUEUE,
            ))  # fmt: skip
    for address, mailbox in settings.inboxes().items():
        polling = MailboxPollSettings(poll_seconds=mailbox.poll_seconds)
        wanted.append(WantedWorkflow(
            poller_workflow_id(address), MailboxPollerWorkflow.run,
            MailboxPollInput(mailbox=address, **polling.model_dump()), polling, TASK_QUEUE,
        ))  # fmt: skip
    return wanted


MANAGED_WORKFLOW_TYPES = [ActivityShipperWorkflow.__name__, MailboxPollerWorkflow.__name__]


async def reconcile_background(client: Client, settings: Settings) -> list[str]:
    """Make the schedules and long-running workflows what the settings say (see
    cadence/background.py); the actions taken."""
    return await reconcile(
        client,
        background_schedules(settings),
        background_workflows(settings),
        MANAGED_WORKFLOW_TYPES,
    )


def log_integrations(settings: Settings) -> None:
    """Say which integrations are on; an integration that is off is not used at all."""
    effect = {
        "marketo": "activities are kept in the log, not shipped; no people sync",
        "salesforce": "activities are kept in the log, not shipped; no opt-out or task sync",
        "smtp": "emails from senders without their own mailbox wait until it is configured",
        "tracking": "emails carry no tracked links, open pixel or unsubscribe link",
    }
    for name, on in settings.integrations().items():
        if on:
            log.info("%s: on", name)
        else:
            log.warning("%s: off (set %s to turn it on): %s", name, off_hint(name), effect[name])


async def run(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    settings.require_database_url()
    log_integrations(settings)
    client = await connect(settings, wait_s=60)
    await reconcile_background(client, settings)
    workers = build_workers(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(w.run()) for w in workers]
    log.info(
        "worker running on %s (namespace %s)",
        settings.temporal_address,
        settings.temporal_namespace,
    )
    await stop.wait()
    await asyncio.gather(*(w.shutdown() for w in workers))
    await asyncio.gather(*tasks, return_exceptions=True)


def exit_cleanly() -> NoReturn:
    """Leave the process once the worker has shut down. The SDK's Rust threads can abort
    the interpreter's own finalization ("Fatal Python error: PyGILState_Release", exit code
    -6 instead of 0) after everything is done, so the logs and streams are flushed and the
    process exits without finalizing."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main() -> NoReturn:
    """``cadence worker`` and ``python worker.py``."""
    configure_logging()
    try:
        asyncio.run(run())
    except ConfigError as err:
        sys.exit(f"worker: configuration error: {err}")
    exit_cleanly()


if __name__ == "__main__":
    main()
