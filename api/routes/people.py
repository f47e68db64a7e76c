from __future__ import annotations

from fastapi import APIRouter, Query, status
from sqlmodel import col, select
from temporalio.common import WorkflowIDConflictPolicy

from api.deps import AdminUser, CurrentUser, SessionDep, TemporalDep, not_found
from api.schemas import CursorParam, IdParam, PersonPublic
from cadence.models import Person
from workflows.contracts import TASK_QUEUE, PeopleSyncInput
from workflows.people_sync import PEOPLE_SYNC_ID, PeopleSyncWorkflow

router = APIRouter(prefix="/people", tags=["people"])
# People come from Marketo (the people sync) and are read-only here, as in Sales Insight
# Actions: Marketo is the source of truth. They are the team's shared directory: every user
# may look them up (what reps did with them is theirs: enrollments, emails, activities).


@router.get("")
def list_people(
    session: SessionDep,
    _user: CurrentUser,
    email: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    after_id: CursorParam = 0,
) -> list[PersonPublic]:
    query = select(Person).where(col(Person.id) > after_id)
    if email:
        query = query.where(Person.email == email.lower())
    rows = session.exec(query.order_by(col(Person.id)).limit(limit)).all()
    return [PersonPublic.model_validate(p, from_attributes=True) for p in rows]


@router.get("/{person_id}")
def get_person(person_id: IdParam, session: SessionDep, _user: CurrentUser) -> PersonPublic:
    person = session.get(Person, person_id)
    if person is None:
        raise not_found("Person", person_id)
    return PersonPublic.model_validate(person, from_attributes=True)


@router.post("/sync", status_code=status.HTTP_202_ACCEPTED)
async def sync_people(_admin: AdminUser, temporal: TemporalDep) -> dict[str, str]:
    """Pull new and changed people from Marketo now (it also runs on a schedule)."""
    handle = await temporal.start_workflow(
        PeopleSyncWorkflow.run,
        PeopleSyncInput(),
        id=PEOPLE_SYNC_ID,
        task_queue=TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return {"status": "syncing", "workflow_id": handle.id}
