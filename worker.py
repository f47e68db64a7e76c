"""The Temporal worker: registers every workflow and activity, one task queue per external system.

Run with ``cadence worker`` (or ``python worker.py``). On start it also makes sure the
background workflows exist: one activity-log shipper per configured destination, the
people-sync schedule and the enrollment sweep's.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from activities.email import send_email
from activities.enrollment_sweep import EnrollmentSweep
from activities.enrollments import finish_enrollment, record_enrollment_status
from activities.inbound import poll_mailbox, process_inbound
from activities.optouts import sync_opt_outs_from_salesforce
from activities.people import sync_people_from_marketo
from activities.shipping import ship_to_marketo, ship_to_salesforce
from activities.task_sync import TaskSync
from activities.tasks import close_task, create_task
from cadence.config import Settings, get_settings
from cadence.logs import configure_logging
from cadence.temporal import connect
from workflows.contracts import (
    IMAP_QUEUE,
    MARKETO_QUEUE,
    SALESFORCE_QUEUE,
    SMTP_QUEUE,
    TASK_QUEUE,
    EnrollmentSweepInput,
    MailboxPollInput,
    OptOutSyncInput,
    PeopleSyncInput,
    ShipperInput,
    TaskSyncInput,
)
from workflows.enrollment import EnrollmentWorkflow
from workflows.enrollment_sweep import (
    ENROLLMENT_SWEEP_ID,
    ENROLLMENT_SWEEP_SCHEDULE_ID,
    EnrollmentSweepWorkflow,
)
from workflows.inbound_mail import InboundMailWorkflow, MailboxPollerWorkflow, poller_workflow_id
from workflows.opt_out_sync import OPT_OUT_SYNC_ID, OPT_OUT_SYNC_SCHEDULE_ID, OptOutSyncWorkflow
from workflows.people_sync import PEOPLE_SYNC_ID, PEOPLE_SYNC_SCHEDULE_ID, PeopleSyncWorkflow
from workflows.sales_email import SalesEmailWorkflow
from workflows.shipper import ActivityShipperWorkflow, shipper_workflow_id
from workflows.task_sync import TASK_SYNC_ID, TASK_SYNC_SCHEDULE_ID, TaskSyncWorkflow

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


def smtp_worker(client: Client, settings: Settings) -> Worker:
    """Sends email: a synchronous activity on its own thread pool."""
    return Worker(
        client,
        task_queue=SMTP_QUEUE,
        activities=[send_email],
        activity_executor=ThreadPoolExecutor(
            max_workers=settings.smtp_concurrency, thread_name_prefix="cadence-smtp"
        ),
        max_concurrent_activities=settings.smtp_concurrency,
        max_concurrent_activity_task_polls=20,
        max_task_queue_activities_per_second=settings.smtp_messages_per_second,
    )


def main_worker(client: Client, settings: Settings) -> Worker:
    """Runs the workflows and their database activities."""
    return Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=WORKFLOWS,
        activities=[
            finish_enrollment,
            record_enrollment_status,
            create_task,
            close_task,
            process_inbound,
            EnrollmentSweep(client).sweep_enrollments,
        ],
        max_concurrent_workflow_tasks=200,
        max_concurrent_workflow_task_polls=20,
    )


def build_workers(client: Client, settings: Settings) -> list[Worker]:
    return [
        main_worker(client, settings),
        smtp_worker(client, settings),
        Worker(
            client,
            task_queue=MARKETO_QUEUE,
            activities=[ship_to_marketo, sync_people_from_marketo],
            max_concurrent_activities=5,
            max_task_queue_activities_per_second=settings.marketo_activities_per_second,
        ),
        Worker(
            client,
            task_queue=SALESFORCE_QUEUE,
            activities=[
                ship_to_salesforce,
                sync_opt_outs_from_salesforce,
                TaskSync.with_client(client).sync_reminder_tasks,
            ],
            max_concurrent_activities=10,
            max_task_queue_activities_per_second=settings.salesforce_activities_per_second,
        ),
        Worker(
            client, task_queue=IMAP_QUEUE, activities=[poll_mailbox], max_concurrent_activities=10
        ),
    ]


async def ensure_background_workflows(client: Client, settings: Settings) -> None:
    """Start the shippers, the mailbox pollers and the people-sync schedule if they are not
    there yet."""
    for address, mailbox in settings.inboxes().items():
        await client.start_workflow(
            MailboxPollerWorkflow.run,
            MailboxPollInput(mailbox=address, poll_seconds=mailbox.poll_seconds),
            id=poller_workflow_id(address),
            task_queue=TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    destinations = [
        ("marketo", settings.marketo_configured, settings.shipper_batch_marketo),
        ("salesforce", settings.salesforce_configured, settings.shipper_batch_salesforce),
    ]
    for destination, configured, batch in destinations:
        if not configured:
            log.warning("%s is not configured: its activity log is kept, not shipped", destination)
            continue
        await client.start_workflow(
            ActivityShipperWorkflow.run,
            ShipperInput(
                destination=destination,
                batch_size=batch,
                poll_seconds=settings.shipper_poll_seconds,
            ),
            id=shipper_workflow_id(destination),
            task_queue=TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    if settings.salesforce_configured:
        await _ensure_schedule(
            client,
            OPT_OUT_SYNC_SCHEDULE_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    OptOutSyncWorkflow.run,
                    OptOutSyncInput(),
                    id=OPT_OUT_SYNC_ID,
                    task_queue=TASK_QUEUE,
                ),
                spec=ScheduleSpec(cron_expressions=[settings.opt_out_sync_cron]),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            ),
        )
    if settings.salesforce_configured and "tasks" in settings.salesforce_log:
        await _ensure_schedule(
            client,
            TASK_SYNC_SCHEDULE_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    TaskSyncWorkflow.run, TaskSyncInput(), id=TASK_SYNC_ID, task_queue=TASK_QUEUE
                ),
                spec=ScheduleSpec(
                    intervals=[
                        ScheduleIntervalSpec(every=timedelta(minutes=settings.task_sync_minutes))
                    ]
                ),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            ),
        )
    if settings.marketo_configured:
        await _ensure_schedule(
            client,
            PEOPLE_SYNC_SCHEDULE_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    PeopleSyncWorkflow.run,
                    PeopleSyncInput(),
                    id=PEOPLE_SYNC_ID,
                    task_queue=TASK_QUEUE,
                ),
                spec=ScheduleSpec(
                    intervals=[
                        ScheduleIntervalSpec(every=timedelta(minutes=settings.people_sync_minutes))
                    ]
                ),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            ),
        )

    await ensure_enrollment_sweep(client, settings)


async def ensure_enrollment_sweep(client: Client, settings: Settings) -> None:
    """The enrollment sweep's schedule: runs that stopped without finishing are recorded."""
    await _ensure_schedule(
        client,
        ENROLLMENT_SWEEP_SCHEDULE_ID,
        Schedule(
            action=ScheduleActionStartWorkflow(
                EnrollmentSweepWorkflow.run,
                EnrollmentSweepInput(start_grace_seconds=settings.enrollment_start_grace_seconds),
                id=ENROLLMENT_SWEEP_ID,
                task_queue=TASK_QUEUE,
            ),
            spec=ScheduleSpec(
                intervals=[
                    ScheduleIntervalSpec(every=timedelta(minutes=settings.enrollment_sweep_minutes))
                ]
            ),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        ),
    )


async def _ensure_schedule(client: Client, schedule_id: str, schedule: Schedule) -> None:
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        pass


async def run(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    client = await connect(settings, wait_s=60)
    await ensure_background_workflows(client, settings)
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


if __name__ == "__main__":
    configure_logging()
    asyncio.run(run())
