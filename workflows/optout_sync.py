"""OptOutSyncWorkflow: bring Salesforce's email opt-outs back (run nightly by a schedule, or
now from ``POST /admin/opt-out-sync``) and end the enrollments of the people it unsubscribes."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.optout import OptOutActivities
    from cadence.domain.contracts import SALESFORCE_QUEUE, OptOutSyncInput, OptOutSyncResult
    from workflows.tell_enrollments import tell_enrollments

OPT_OUT_SYNC_ID = "opt-out-sync"
OPT_OUT_SYNC_SCHEDULE_ID = "opt-out-sync-schedule"


@workflow.defn
class OptOutSyncWorkflow:
    @workflow.run
    async def run(self, inp: OptOutSyncInput) -> OptOutSyncResult:
        result = await workflow.execute_activity_method(
            OptOutActivities.sync_opt_outs_from_salesforce,
            inp,
            task_queue=SALESFORCE_QUEUE,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(
                maximum_interval=timedelta(minutes=10),
                non_retryable_error_types=["NotConfigured"],
            ),
        )
        await tell_enrollments(result.signals)
        return result
