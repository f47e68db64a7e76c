"""EnrollmentSweepWorkflow: every enrollment the database holds as running, checked against
Temporal; runs that stopped without finishing (terminated, failed, timed out, deleted) are
recorded as ended (run by a schedule, CADENCE_ENROLLMENT_SWEEP_MINUTES)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.enrollment_sweep import EnrollmentSweepActivities
    from cadence.domain.contracts import TASK_QUEUE, EnrollmentSweepInput, EnrollmentSweepResult
    from workflows.scheduled import Scheduled

# (its heartbeat: a retry goes on after the last batch)
ENROLLMENT_SWEEP = Scheduled("enrollment-sweep", TASK_QUEUE, timeout=timedelta(hours=1),
                             heartbeat=timedelta(minutes=2), max_interval=timedelta(minutes=5),
                             max_attempts=5, non_retryable=())  # fmt: skip
ENROLLMENT_SWEEP_ID = ENROLLMENT_SWEEP.workflow_id
ENROLLMENT_SWEEP_SCHEDULE_ID = ENROLLMENT_SWEEP.schedule_id


@workflow.defn
class EnrollmentSweepWorkflow:
    @workflow.run
    async def run(self, inp: EnrollmentSweepInput) -> EnrollmentSweepResult:
        return await workflow.execute_activity_method(
            EnrollmentSweepActivities.sweep_enrollments,
            inp,
            **ENROLLMENT_SWEEP.activity_options(),
        )
