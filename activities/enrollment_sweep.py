"""The enrollment sweep: the activity, delegating to cadence/services/enrollment_sweep.py. A
retried sweep goes on after the last batch it finished (from its heartbeat details)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import activity

from cadence.domain.contracts import EnrollmentSweepInput, EnrollmentSweepResult

if TYPE_CHECKING:
    from cadence.services.enrollment_sweep import EnrollmentSweep


class EnrollmentSweepActivities:
    def __init__(self, sweep: EnrollmentSweep) -> None:
        self.sweep = sweep

    @activity.defn
    async def sweep_enrollments(self, inp: EnrollmentSweepInput) -> EnrollmentSweepResult:
        details = activity.info().heartbeat_details
        resume = None
        if details:
            resume = int(details[0]), EnrollmentSweepResult.model_validate(details[1])
        return await self.sweep.sweep(inp, resume, activity.heartbeat)
