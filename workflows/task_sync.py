"""TaskSyncWorkflow: the reps' reminder tasks synced both ways with Salesforce (run by a
schedule when ``tasks`` is in CADENCE_SALESFORCE_LOG)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.task_sync import TaskSyncActivities
    from cadence.domain.contracts import SALESFORCE_QUEUE, TaskSyncInput, TaskSyncResult

TASK_SYNC_ID = "task-sync"
TASK_SYNC_SCHEDULE_ID = "task-sync-schedule"


@workflow.defn
class TaskSyncWorkflow:
    @workflow.run
    async def run(self, inp: TaskSyncInput) -> TaskSyncResult:
        return await workflow.execute_activity_method(
            TaskSyncActivities.sync_reminder_tasks,
            inp,
            task_queue=SALESFORCE_QUEUE,
            start_to_close_timeout=timedelta(minutes=15),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(
                maximum_interval=timedelta(minutes=5),
                maximum_attempts=5,
                non_retryable_error_types=["NotConfigured"],
            ),
        )
