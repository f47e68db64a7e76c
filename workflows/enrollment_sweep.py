"""EnrollmentSweepWorkflow: every enrollment the database holds as running, checked against
Temporal; runs that stopped without finishing (terminated, failed, timed out, deleted) are
recorded as ended (run by a schedule, CADENCE_ENROLLMENT_SWEEP_MINUTES)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.enrollment_sweep import EnrollmentSweepActivities
    from cadence.domain.contracts import TASK_QUEUE, EnrollmentSweepInput, EnrollmentSweepResult

ENROLLMENT_SWEEP_ID = "enrollment-sweep"
ENROLLMENT_SWEEP_SCHEDULE_ID = "enrollment-sweep-schedule"


@workflow.defn
class EnrollmentSweepWorkflow:
    @workflow.run
    async def run(self, inp: EnrollmentSweepInput) -> EnrollmentSweepResult:
        return await workflow.execute_activity_method(
            EnrollmentSweepActivities.sweep_enrollments,
            inp,
            task_queue=TASK_QUEUE,
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=timedelta(minutes=2),  # a retry goes on after the last batch
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=5),
        )
