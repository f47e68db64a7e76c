"""PeopleSyncWorkflow: pull new and changed people from Marketo (run by a schedule)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.people import sync_people_from_marketo
    from workflows.contracts import MARKETO_QUEUE, PeopleSyncInput, PeopleSyncResult

PEOPLE_SYNC_ID = "people-sync"
PEOPLE_SYNC_SCHEDULE_ID = "people-sync-schedule"


@workflow.defn
class PeopleSyncWorkflow:
    @workflow.run
    async def run(self, inp: PeopleSyncInput) -> PeopleSyncResult:
        return await workflow.execute_activity(
            sync_people_from_marketo,
            inp,
            task_queue=MARKETO_QUEUE,
            # a first sync of a large instance runs many bulk exports, a minute or two each
            start_to_close_timeout=timedelta(hours=6),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(
                maximum_interval=timedelta(minutes=5),
                maximum_attempts=10,
                non_retryable_error_types=["NotConfigured"],
            ),
        )
