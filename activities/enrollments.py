"""Enrollment bookkeeping: the activities, delegating to cadence/services/enrollments.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import activity

from cadence.domain.contracts import FinishEnrollmentInput, RecordStatusInput

if TYPE_CHECKING:
    from cadence.services.enrollments import EnrollmentRecords


class EnrollmentActivities:
    def __init__(self, records: EnrollmentRecords) -> None:
        self.records = records

    @activity.defn
    async def finish_enrollment(self, inp: FinishEnrollmentInput) -> None:
        """Record how the enrollment ended (idempotent)."""
        await self.records.finish(inp)

    @activity.defn
    async def record_enrollment_status(self, inp: RecordStatusInput) -> None:
        """Write a running enrollment's status (paused, or active again) to its row."""
        await self.records.record_status(inp, activity.info().workflow_id or "")
