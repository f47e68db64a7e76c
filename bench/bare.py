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


async def serve(address: str) -> None:
    """Run the bare worker until SIGTERM; prints "ready" once polling."""
    import signal

    from temporalio.client import Client
    from temporalio.worker import Worker

    client = await Client.connect(address)
    worker = Worker(
        client,
        task_queue=BARE_QUEUE,
        workflows=[BareWorkflow],
        activities=[bare_step],
        max_concurrent_workflow_tasks=200,
        max_concurrent_activities=50,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with worker:
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    import asyncio
    import sys

    asyncio.run(serve(sys.argv[1]))
