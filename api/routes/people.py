from __future__ import annotations

from fastapi import APIRouter, Query, status
from sqlmodel import col, select
from temporalio.common import WorkflowIDConflictPolicy

from api.deps import AdminUser, CurrentUser, RepUser, SessionDep, TemporalDep, not_found
from api.enrollment_calls import tell_location
from api.schemas import (
    CursorParam,
    IdParam,
    LocationOverride,
    OverridePublic,
    PersonLocation,
    PersonLocationChanged,
    PersonPublic,
)
from cadence.core.models import Person, utcnow
from cadence.domain.contracts import TASK_QUEUE, PeopleSyncInput
from cadence.services.people_location import set_overrides
from workflows.people_sync import PEOPLE_SYNC_ID, PeopleSyncWorkflow

router = APIRouter(prefix="/people", tags=["people"])
# People come from Marketo (the people sync) and are read-only here, as in Sales Insight
# Actions: Marketo is the source of truth. They are the team's shared directory: every user
# may look them up (what reps did with them is theirs: enrollments, emails, activities). Only
# their zone and country can be set here, by a rep or an admin (kept across syncs).


def person_public(person: Person) -> PersonPublic:
    def override(name: str) -> OverridePublic | None:
        value = getattr(person, f"{name}_override")
        if not value:
            return None
        by, at = getattr(person, f"{name}_override_by"), getattr(person, f"{name}_override_at")
        return OverridePublic(value=value, set_by=by, set_at=at)

    fields = person.model_dump()
    location = PersonLocation(
        country=person.address_country,
        state=person.address_state,
        city=person.address_city,
        postal_code=person.address_postal_code,
        inferred_country=person.inferred_country,
        inferred_state=person.inferred_state,
        inferred_city=person.inferred_city,
    )
    fields |= {
        "location": location,
        "timezone_override": override("timezone"),
        "country_override": override("country"),
    }
    return PersonPublic.model_validate(fields)


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
    return [person_public(p) for p in rows]


@router.get("/{person_id}")
def get_person(person_id: IdParam, session: SessionDep, _user: CurrentUser) -> PersonPublic:
    person = session.get(Person, person_id)
    if person is None:
        raise not_found("Person", person_id)
    return person_public(person)


@router.patch("/{person_id}")
async def set_location(
    person_id: IdParam,
    body: LocationOverride,
    session: SessionDep,
    user: RepUser,
    temporal: TemporalDep,
) -> PersonLocationChanged:
    """Set (or with null, clear) the person's time zone and/or country by hand: they win over
    what Marketo's data gives, and syncs keep them. The person's running enrollments take the
    zone and country in use (and that country's holidays) at their next step."""
    person = session.exec(select(Person).where(Person.id == person_id).with_for_update()).first()
    if person is None:
        raise not_found("Person", person_id)
    assert user.id is not None
    set_overrides(person, body.model_dump(exclude_unset=True), user.id, utcnow())
    session.add(person)
    session.commit()
    told, pending = await tell_location(session, temporal, person_id)
    session.refresh(person)
    return PersonLocationChanged(
        **person_public(person).model_dump(), enrollments_told=told, enrollments_pending=pending
    )


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
