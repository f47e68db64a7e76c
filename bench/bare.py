"""The bare-Temporal baseline for the benchmark: a workflow that runs N no-op activities in a
row, the same number of activities an enrollment runs."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

BARE_QUEUE = "bench-bare"


@activity.defn
async def bare_step(index: int) -> int:
    return index


@workflow.defn
class BareWorkflow:
    @workflow.run
    async def run(self, steps: int) -> int:
        for index in range(steps):
            await workflow.execute_activity(
                bare_step, index, start_to_close_timeout=timedelta(seconds=30)
            )
        return steps
