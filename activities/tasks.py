"""The rep's tasks: the activities, delegating to cadence/services/tasks.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import activity

from cadence.domain.contracts import CloseTaskInput, CreateTaskInput, CreateTaskResult

if TYPE_CHECKING:
    from cadence.services.tasks import Tasks


class TaskActivities:
    def __init__(self, tasks: Tasks) -> None:
        self.tasks = tasks

    @activity.defn
    async def create_task(self, inp: CreateTaskInput) -> CreateTaskResult:
        """Create the rep's task for a step (idempotent per enrollment and step)."""
        return await self.tasks.create(inp)

    @activity.defn
    async def close_task(self, inp: CloseTaskInput) -> None:
        """Record how the task ended; a completed call is logged as a sales call."""
        await self.tasks.close(inp)
