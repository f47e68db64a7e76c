from __future__ import annotations

from fastapi import APIRouter, Query
from sqlmodel import col, select

from api.deps import CurrentUser, SessionDep
from api.schemas import ActivityPublic
from cadence.models import ACTIVITY_TITLES, ActivityKind, ActivityLog

router = APIRouter(prefix="/activities", tags=["activities"])


@router.get("")
def list_activities(
    session: SessionDep,
    _user: CurrentUser,
    person_id: int | None = None,
    campaign_id: int | None = None,
    kind: ActivityKind | None = None,
    after_id: int = 0,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[ActivityPublic]:
    """The activity log, oldest first (page with ``after_id``)."""
    query = select(ActivityLog).where(col(ActivityLog.id) > after_id)
    if person_id is not None:
        query = query.where(ActivityLog.person_id == person_id)
    if campaign_id is not None:
        query = query.where(ActivityLog.campaign_id == campaign_id)
    if kind is not None:
        query = query.where(ActivityLog.kind == kind)
    rows = session.exec(query.order_by(col(ActivityLog.id)).limit(limit)).all()
    return [
        ActivityPublic.model_validate(
            {**r.model_dump(), "title": ACTIVITY_TITLES[ActivityKind(r.kind)]}
        )
        for r in rows
    ]
