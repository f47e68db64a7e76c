"""The reps' reminder tasks synced both ways with Salesforce: the activity, delegating to
cadence/services/task_sync.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import activity

from cadence.domain.contracts import TaskSyncInput, TaskSyncResult

if TYPE_CHECKING:
    from cadence.services.task_sync import TaskSync


class TaskSyncActivities:
    def __init__(self, task_sync: TaskSync) -> None:
        self.task_sync = task_sync

    @activity.defn
    async def sync_reminder_tasks(self, inp: TaskSyncInput) -> TaskSyncResult:
        return await self.task_sync.sync(inp, activity.heartbeat)
