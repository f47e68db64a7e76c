"""The Email tab: sent sales emails with what became of them (opened, clicked, replied)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, status
from sqlmodel import col, select

from api.deps import CurrentUser, SessionDep
from api.schemas import EmailDetail, EmailPublic
from cadence.models import ActivityKind, ActivityLog, Campaign, EmailMessage, Enrollment, Role

router = APIRouter(prefix="/emails", tags=["emails"])


def _reactions(session: SessionDep, message_ids: list[str]) -> dict[str, set[ActivityKind]]:
    """Which of open/click/reply each message got, from the activity log."""
    kinds = (ActivityKind.open_email, ActivityKind.click_email, ActivityKind.reply_email)
    rows = session.exec(select(ActivityLog).where(col(ActivityLog.kind).in_(kinds))).all()
    wanted = set(message_ids)
    seen: dict[str, set[ActivityKind]] = {m: set() for m in message_ids}
    for row in rows:
        message_id = (row.details or {}).get("message_id")
        if message_id in wanted:
            seen[message_id].add(ActivityKind(row.kind))
    return seen


def _public(message: EmailMessage, campaign: str | None, seen: set[ActivityKind]) -> EmailPublic:
    return EmailPublic(
        message_id=message.message_id,
        subject=message.subject,
        sender=message.sender,
        recipient=message.recipient,
        person_id=message.person_id,
        enrollment_id=message.enrollment_id,
        step_id=message.step_id,
        campaign=campaign,
        status=message.status,
        sent_at=message.sent_at,
        opened=ActivityKind.open_email in seen,
        clicked=ActivityKind.click_email in seen,
        replied=ActivityKind.reply_email in seen,
    )


@router.get("")
def list_emails(
    session: SessionDep,
    user: CurrentUser,
    person_id: int | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[EmailPublic]:
    """Newest first. Reps see the emails sent as them; admins and authors see all."""
    query = select(EmailMessage, Campaign.name).outerjoin(
        Enrollment, col(Enrollment.id) == col(EmailMessage.enrollment_id)
    ).outerjoin(Campaign, col(Campaign.id) == col(Enrollment.campaign_id))  # fmt: skip
    if user.role == Role.rep:
        query = query.where(EmailMessage.sender == user.email)
    if person_id is not None:
        query = query.where(EmailMessage.person_id == person_id)
    rows = session.exec(query.order_by(col(EmailMessage.sent_at).desc()).limit(limit)).all()
    seen = _reactions(session, [m.message_id for m, _ in rows])
    return [_public(m, name, seen[m.message_id]) for m, name in rows]


@router.get("/{message_id}")
def get_email(message_id: str, session: SessionDep, user: CurrentUser) -> EmailDetail:
    """One email with its text."""
    message = session.get(EmailMessage, message_id)
    if message is None or (user.role == Role.rep and message.sender != user.email):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Email {message_id} not found")
    enrollment = session.get(Enrollment, message.enrollment_id) if message.enrollment_id else None
    campaign = session.get(Campaign, enrollment.campaign_id) if enrollment else None
    seen = _reactions(session, [message_id])[message_id]
    public = _public(message, campaign.name if campaign else None, seen)
    return EmailDetail(**public.model_dump(), body_text=message.body_text)
