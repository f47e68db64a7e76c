"""OptOutSyncWorkflow: bring Salesforce's email opt-outs back (run nightly by a schedule, or
now from ``POST /admin/opt-out-sync``) and end the enrollments of the people it unsubscribes."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.optout import OptOutActivities
    from cadence.domain.contracts import SALESFORCE_QUEUE, OptOutSyncInput, OptOutSyncResult
    from workflows.scheduled import Scheduled
    from workflows.tell_enrollments import tell_enrollments

OPT_OUT_SYNC = Scheduled("opt-out-sync", SALESFORCE_QUEUE, timeout=timedelta(minutes=30),
                         heartbeat=timedelta(minutes=5),
                         max_interval=timedelta(minutes=10))  # fmt: skip
OPT_OUT_SYNC_ID, OPT_OUT_SYNC_SCHEDULE_ID = OPT_OUT_SYNC.workflow_id, OPT_OUT_SYNC.schedule_id


@workflow.defn
class OptOutSyncWorkflow:
    @workflow.run
    async def run(self, inp: OptOutSyncInput) -> OptOutSyncResult:
        result = await workflow.execute_activity_method(
            OptOutActivities.sync_opt_outs_from_salesforce,
            inp,
            **OPT_OUT_SYNC.activity_options(),
        )
        await tell_enrollments(result.signals)
        return result
