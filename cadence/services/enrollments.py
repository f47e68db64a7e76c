"""Enrollment bookkeeping in the app database."""

from __future__ import annotations

import logging

from sqlmodel import col, update

from cadence.core.db import run_db, session_scope
from cadence.core.models import ActivityKind, Campaign, Enrollment, EnrollmentStatus, utcnow
from cadence.domain.contracts import RUNNING_STATUSES, FinishEnrollmentInput, RecordStatusInput
from cadence.services.activity_log import record_activity

log = logging.getLogger("cadence.enrollments")


def _finish(inp: FinishEnrollmentInput) -> None:
    with session_scope() as session:
        enrollment = session.get(Enrollment, inp.enrollment_id)
        if enrollment is None or enrollment.workflow_id != inp.workflow_id:
            # Not this run's row (a database restored or replaced under a running workflow):
            # writing to it would end someone else's enrollment.
            log.warning("enrollment %s is not run by %s; its end is not recorded",
                        inp.enrollment_id, inp.workflow_id)  # fmt: skip
            return
        if enrollment.status == EnrollmentStatus.failed:
            # Declared gone while this run still lived (its start took longer than the
            # grace): the person may be enrolled again by now, so the record stays.
            log.warning("enrollment %s was recorded as failed; its run ended %s",
                        enrollment.id, inp.end_reason.value)  # fmt: skip
            return
        enrollment.status = EnrollmentStatus(inp.status)
        enrollment.end_reason = inp.end_reason.value
        enrollment.end_note = inp.end_note
        enrollment.ended_at = enrollment.ended_at or utcnow()
        session.add(enrollment)
        if inp.status == "removed":
            campaign = session.get(Campaign, enrollment.campaign_id)
            record_activity(
                session,
                key=f"{inp.workflow_id}/remove_from_campaign",
                kind=ActivityKind.remove_from_campaign,
                person_id=enrollment.person_id,
                subject=campaign.name if campaign else None,
                campaign_id=enrollment.campaign_id,
                enrollment_id=enrollment.id,
                user_id=inp.removed_by or enrollment.owner_id,
                details={
                    "reason": inp.end_note or inp.end_reason.value,
                    "campaign_name": campaign.name if campaign else None,
                },
            )


def _record_status(inp: RecordStatusInput, workflow_id: str) -> None:
    with session_scope() as session:
        session.exec(
            update(Enrollment)
            .where(
                col(Enrollment.id) == inp.enrollment_id,
                col(Enrollment.workflow_id) == workflow_id,  # this run's row only
                col(Enrollment.status).in_(RUNNING_STATUSES),  # never over an end
            )
            .values(status=EnrollmentStatus(inp.status))
        )


class EnrollmentRecords:
    """An enrollment's row, written by its run."""

    async def finish(self, inp: FinishEnrollmentInput) -> None:
        """Record how the enrollment ended (idempotent)."""
        await run_db(_finish, inp)

    async def record_status(self, inp: RecordStatusInput, workflow_id: str) -> None:
        """Write a running enrollment's status (paused, or active again) to its row, if the
        row is run by ``workflow_id``."""
        await run_db(_record_status, inp, workflow_id)
