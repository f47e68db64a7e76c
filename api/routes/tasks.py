"""The rep's tasks: list them, complete or skip them (the enrollment then goes on)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, status
from sqlmodel import col, select

from api.deps import OwnerUser, OwnListUser, SessionDep, TemporalDep, not_found, owns
from api.enrollment_calls import update_enrollment
from api.openapi import CONFLICT
from api.routes.attachments import attachments_for
from api.schemas import IdParam, ManualEmailBody, TaskDoneBody, TaskPublic
from cadence.core.models import Enrollment, Role, Task, TaskStatus
from cadence.domain.contracts import EnrollmentState, TaskDone, TaskOutcome
from workflows.enrollment import EnrollmentWorkflow

router = APIRouter(prefix="/tasks", tags=["tasks"])


@router.get("")
def list_tasks(
    session: SessionDep,
    user: OwnListUser,
    state: TaskStatus | None = Query(default=TaskStatus.open, alias="status"),
    owner_id: IdParam | None = Query(default=None, description="Admins only: a rep's tasks"),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[TaskPublic]:
    """Tasks by due time: a rep sees their own; an admin anyone's (``owner_id``) or all."""
    query = select(Task)
    if user.role != Role.admin:
        query = query.where(Task.owner_id == user.id)
    elif owner_id is not None:
        query = query.where(Task.owner_id == owner_id)
    if state is not None:
        query = query.where(Task.status == state)
    rows = session.exec(query.order_by(col(Task.due_at), col(Task.id)).limit(limit)).all()
    return [TaskPublic.model_validate(t, from_attributes=True) for t in rows]


async def _close(
    task_id: int,
    outcome: TaskOutcome,
    body: TaskDoneBody | ManualEmailBody | None,
    session: SessionDep,
    user: OwnerUser,
    temporal: TemporalDep,
) -> EnrollmentState:
    task = session.get(Task, task_id)
    if task is None or not owns(user, task.owner_id):
        raise not_found("Task", task_id)
    if task.status != TaskStatus.open:
        raise HTTPException(status.HTTP_409_CONFLICT, f"Task {task_id} is {task.status.value}")
    if isinstance(body, ManualEmailBody):
        if task.type != "manual_email":
            raise HTTPException(status.HTTP_409_CONFLICT, f"Task {task_id} is not an email")
        attachments_for(session, user, body.attachment_ids, "attachment_ids")
        done = TaskDone(
            step_id=task.step_id,
            subject=body.subject,
            body=body.body,
            by_user_id=user.id,
            cc=[str(a) for a in body.cc],
            bcc=[str(a) for a in body.bcc],
            attachment_ids=body.attachment_ids,
        )
    else:
        done = TaskDone(
            step_id=task.step_id,
            status=outcome,
            outcome=body.outcome if body else None,
            notes=body.notes if body else None,
            by_user_id=user.id,
        )
    row = session.get(Enrollment, task.enrollment_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Task {task_id} has no enrollment")
    return await update_enrollment(session, temporal, row, EnrollmentWorkflow.complete_task, done)


@router.post("/{task_id}/complete", responses=CONFLICT)
async def complete(
    task_id: IdParam,
    session: SessionDep,
    user: OwnerUser,
    temporal: TemporalDep,
    body: TaskDoneBody | None = None,
) -> EnrollmentState:
    """Done: the enrollment goes on (later steps move if the task was done days late)."""
    return await _close(task_id, TaskStatus.completed, body, session, user, temporal)


@router.post("/{task_id}/skip", responses=CONFLICT)
async def skip(
    task_id: IdParam,
    session: SessionDep,
    user: OwnerUser,
    temporal: TemporalDep,
    body: TaskDoneBody | None = None,
) -> EnrollmentState:
    """Not doing it: the enrollment goes on with the next step."""
    return await _close(task_id, TaskStatus.skipped, body, session, user, temporal)


@router.post("/{task_id}/send", responses=CONFLICT)
async def send(
    task_id: IdParam,
    body: ManualEmailBody,
    session: SessionDep,
    user: OwnerUser,
    temporal: TemporalDep,
) -> EnrollmentState:
    """Send a manual email step, with the rep's subject and body (the draft where omitted).
    Templates work as in the playbook; every ``{{! prompt}}`` must be filled in."""
    return await _close(task_id, TaskStatus.completed, body, session, user, temporal)
