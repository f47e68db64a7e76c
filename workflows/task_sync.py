"""TaskSyncWorkflow: the reps' reminder tasks synced both ways with Salesforce (run by a
schedule when ``tasks`` is in CADENCE_SALESFORCE_LOG)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.task_sync import TaskSyncActivities
    from cadence.domain.contracts import SALESFORCE_QUEUE, TaskSyncInput, TaskSyncResult
    from workflows.scheduled import Scheduled

TASK_SYNC = Scheduled("task-sync", SALESFORCE_QUEUE, timeout=timedelta(minutes=15),
                      heartbeat=timedelta(minutes=2), max_interval=timedelta(minutes=5),
                      max_attempts=5)  # fmt: skip
TASK_SYNC_ID, TASK_SYNC_SCHEDULE_ID = TASK_SYNC.workflow_id, TASK_SYNC.schedule_id


@workflow.defn
class TaskSyncWorkflow:
    @workflow.run
    async def run(self, inp: TaskSyncInput) -> TaskSyncResult:
        return await workflow.execute_activity_method(
            TaskSyncActivities.sync_reminder_tasks,
            inp,
            **TASK_SYNC.activity_options(),
        )
