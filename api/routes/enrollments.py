from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from sqlmodel import col, select
from temporalio.exceptions import TemporalError

from api import enrolling, enrollment_calls
from api.deps import OwnerUser, OwnListUser, RepUser, SessionDep, TemporalDep, not_found, owns
from api.openapi import CONFLICT
from api.schemas import (
    EnrollmentPublic,
    EnrollRequest,
    EnrollResponse,
    EnrollResult,
    IdParam,
    PauseBody,
    RemoveBody,
    RescheduleBody,
    StepBody,
)
from cadence.core.models import Campaign, Enrollment, Person, Role
from cadence.domain.contracts import (
    RUNNING_STATUSES,
    EnrollmentState,
    MarkSuccessRequest,
    PauseRequest,
    RemoveRequest,
    RescheduleRequest,
    ResumeRequest,
    SkipStepRequest,
    TimelineEntry,
)
from workflows.enrollment import EnrollmentWorkflow

router = APIRouter(tags=["enrollments"])


@router.post(
    "/campaigns/{campaign_id}/enrollments",
    status_code=status.HTTP_202_ACCEPTED,
)
async def enroll(
    campaign_id: IdParam,
    body: EnrollRequest,
    session: SessionDep,
    user: RepUser,
    temporal: TemporalDep,
) -> EnrollResponse:
    """Enroll people (by id or email, up to 200), as yourself: the enrollments are yours. Any
    person of the shared directory may be enrolled, as in Sales Insight Actions. Repeating the
    request never enrolls anyone twice; someone another rep already enrolled in this campaign
    is ``already_enrolled``, without that enrollment's ids."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise not_found("Campaign", campaign_id)
    if not body.person_ids and not body.emails:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["body"], "msg": "give person_ids or emails"}],
        )
    people: dict[int, Person] = {}
    missing: list[EnrollResult] = []
    if body.person_ids:
        found = session.exec(select(Person).where(col(Person.id).in_(body.person_ids))).all()
        people.update({p.id: p for p in found if p.id is not None})
        missing += [
            EnrollResult(person_id=i, result="person_not_found")
            for i in dict.fromkeys(body.person_ids)
            if i not in people
        ]
    if body.emails:
        wanted = [str(e).lower() for e in body.emails]
        found = session.exec(select(Person).where(col(Person.email).in_(wanted))).all()
        by_email: dict[str, list[Person]] = {}
        for person in found:
            by_email.setdefault(person.email, []).append(person)
        for address in dict.fromkeys(wanted):
            matches = by_email.get(address, [])
            if len(matches) == 1 and matches[0].id is not None:
                people[matches[0].id] = matches[0]
            elif not matches:
                missing.append(EnrollResult(person_id=None, email=address,
                                            result="person_not_found"))  # fmt: skip
            else:  # duplicates in Marketo: which one is meant is the rep's call
                ids = ", ".join(str(p.id) for p in matches)
                missing.append(EnrollResult(
                    person_id=None, email=address, result="several_people",
                    detail=f"{len(matches)} people have this address (ids {ids}): "
                           "enroll by person_ids"))  # fmt: skip
    try:
        outcomes = await enrolling.enroll(session, temporal, campaign, list(people.values()), user)
    except TemporalError as err:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"Enrollments were saved but could not be started ({err}); repeat the request",
        ) from err
    results = []
    for o in outcomes:
        result = EnrollResult(person_id=o.person_id, email=people[o.person_id].email,
                              result=o.result)  # fmt: skip
        if o.owner_id is None or owns(user, o.owner_id):
            result.enrollment_id, result.workflow_id = o.enrollment_id, o.workflow_id
        else:
            result.detail = "enrolled in this campaign by another rep"
        results.append(result)
    return EnrollResponse(campaign_id=campaign_id, results=results + missing)


def _owned(enrollment_id: IdParam, session: SessionDep, user: OwnerUser) -> Enrollment:
    """The enrollment, if it is the user's (an admin's: any); else 404, as if it did not exist."""
    row = session.get(Enrollment, enrollment_id)
    if row is None or not owns(user, row.owner_id):
        raise not_found("Enrollment", enrollment_id)
    return row


OwnedEnrollment = Annotated[Enrollment, Depends(_owned)]


@router.get("/enrollments/{enrollment_id}")
async def get_enrollment(
    row: OwnedEnrollment, session: SessionDep, temporal: TemporalDep
) -> EnrollmentPublic:
    """The enrollment row and the workflow's live state (from a workflow query). The status is
    the workflow's while it runs; a run found stopped is recorded as ended first."""
    live, live_error = await enrollment_calls.live_state(session, temporal, row)
    public = EnrollmentPublic.model_validate(
        {**row.model_dump(), "live": live, "live_error": live_error}
    )
    if live is not None and row.status in RUNNING_STATUSES:
        # The workflow is the source of truth: its row may lag a pause, or the end being
        # written right now.
        public.status, public.end_reason = live.status, live.end_reason
        public.end_note = live.end_note
    return public


@router.get("/campaigns/{campaign_id}/enrollments")
def list_enrollments(
    campaign_id: IdParam, session: SessionDep, user: OwnListUser
) -> list[EnrollmentPublic]:
    """The campaign's enrollments: a rep's own, or all for an admin."""
    if session.get(Campaign, campaign_id) is None:
        raise not_found("Campaign", campaign_id)
    query = select(Enrollment).where(Enrollment.campaign_id == campaign_id)
    if user.role != Role.admin:
        query = query.where(Enrollment.owner_id == user.id)
    rows = session.exec(query.order_by(col(Enrollment.id))).all()
    return [EnrollmentPublic.model_validate({**r.model_dump(), "live": None}) for r in rows]


@router.post(
    "/enrollments/{enrollment_id}/remove", status_code=status.HTTP_202_ACCEPTED, responses=CONFLICT
)
async def remove(
    row: OwnedEnrollment,
    session: SessionDep,
    user: OwnerUser,
    temporal: TemporalDep,
    body: RemoveBody | None = None,
) -> dict[str, str]:
    """Remove the person from the campaign; the workflow ends without sending more."""
    request = RemoveRequest(note=body.reason if body else None, by_user_id=user.id)
    await enrollment_calls.signal_enrollment(
        session, temporal, row, EnrollmentWorkflow.remove, request
    )
    return {"status": "removing", "workflow_id": row.workflow_id}


@router.post("/enrollments/{enrollment_id}/pause", responses=CONFLICT)
async def pause(
    row: OwnedEnrollment,
    session: SessionDep,
    user: OwnerUser,
    temporal: TemporalDep,
    body: PauseBody | None = None,
) -> EnrollmentState:
    """Hold the remaining steps; on resume they move by the sending days the pause lasted."""
    note = body.note if body else None
    return await enrollment_calls.update_enrollment(
        session,
        temporal,
        row,
        EnrollmentWorkflow.pause,
        PauseRequest(note=note, by_user_id=user.id),
    )


@router.post("/enrollments/{enrollment_id}/resume", responses=CONFLICT)
async def resume(
    row: OwnedEnrollment, session: SessionDep, user: OwnerUser, temporal: TemporalDep
) -> EnrollmentState:
    """Go on with a paused enrollment."""
    return await enrollment_calls.update_enrollment(
        session, temporal, row, EnrollmentWorkflow.resume, ResumeRequest(by_user_id=user.id)
    )


@router.get("/enrollments/{enrollment_id}/timeline")
async def timeline(
    row: OwnedEnrollment, session: SessionDep, temporal: TemporalDep
) -> list[TimelineEntry]:
    """Each step: done and when, due, or planned (projected), from a workflow query."""
    return await enrollment_calls.timeline(session, temporal, row)


@router.post("/enrollments/{enrollment_id}/skip-step", responses=CONFLICT)
async def skip_step(
    row: OwnedEnrollment,
    body: StepBody,
    session: SessionDep,
    user: OwnerUser,
    temporal: TemporalDep,
) -> EnrollmentState:
    """Skip the step the enrollment waits for (name it, so a stale screen cannot skip another)."""
    request = SkipStepRequest(step_id=body.step_id, by_user_id=user.id)
    return await enrollment_calls.update_enrollment(
        session, temporal, row, EnrollmentWorkflow.skip_step, request
    )


@router.post("/enrollments/{enrollment_id}/reschedule", responses=CONFLICT)
async def reschedule(
    row: OwnedEnrollment,
    body: RescheduleBody,
    session: SessionDep,
    user: OwnerUser,
    temporal: TemporalDep,
) -> EnrollmentState:
    """Move the step the enrollment waits for to another time (kept inside the send window)."""
    request = RescheduleRequest(step_id=body.step_id, at=body.at, by_user_id=user.id)
    return await enrollment_calls.update_enrollment(
        session, temporal, row, EnrollmentWorkflow.reschedule, request
    )


@router.post("/enrollments/{enrollment_id}/mark-success", responses=CONFLICT)
async def mark_success(
    row: OwnedEnrollment,
    session: SessionDep,
    user: OwnerUser,
    temporal: TemporalDep,
    body: PauseBody | None = None,
) -> EnrollmentState:
    """End the enrollment as a success (end reason "success"); no more steps run."""
    request = MarkSuccessRequest(note=body.note if body else None, by_user_id=user.id)
    return await enrollment_calls.update_enrollment(
        session, temporal, row, EnrollmentWorkflow.mark_success, request
    )
