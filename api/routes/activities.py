from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy import ColumnElement
from sqlmodel import col, or_, select

from api.deps import OwnListUser, SessionDep
from api.schemas import ActivityPublic, CursorParam, IdParam
from cadence.core.models import (
    ACTIVITY_TITLES,
    ActivityKind,
    ActivityLog,
    EmailMessage,
    Enrollment,
    Role,
    User,
)

router = APIRouter(prefix="/activities", tags=["activities"])


def _theirs(user: User) -> ColumnElement[bool]:
    """A rep's activities: what they did, what happened in their enrollments, and what
    became of the emails sent as them (opens, clicks, replies, bounces, unsubscribes)."""
    enrollments = select(Enrollment.id).where(Enrollment.owner_id == user.id)
    emails = select(EmailMessage.message_id).where(EmailMessage.sender == user.email)
    return or_(
        col(ActivityLog.user_id) == user.id,
        col(ActivityLog.enrollment_id).in_(enrollments),
        col(ActivityLog.details)["message_id"].as_string().in_(emails),
    )


@router.get("")
def list_activities(
    session: SessionDep,
    user: OwnListUser,
    person_id: IdParam | None = None,
    campaign_id: IdParam | None = None,
    kind: ActivityKind | None = None,
    after_id: CursorParam = 0,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[ActivityPublic]:
    """The activity log, oldest first (page with ``after_id``): a rep's own, or all for an
    admin."""
    query = select(ActivityLog).where(col(ActivityLog.id) > after_id)
    if user.role != Role.admin:
        query = query.where(_theirs(user))
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
