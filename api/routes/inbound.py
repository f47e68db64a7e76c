"""Inbound mail: the intake for raw messages (mail providers, the local sink) and the record
of everything received, matched or not."""

from __future__ import annotations

import hmac
import re
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import ColumnElement
from sqlmodel import col, func, or_, select
from temporalio.client import WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.deps import Access, OwnerUser, OwnListUser, Rule, SessionDep, TemporalDep, not_found
from api.schemas import MAX_ID, IdParam, InboundAccepted, InboundPage, InboundPublic
from cadence.core.config import get_settings
from cadence.core.models import EmailMessage, InboundMessage, Role, User
from cadence.domain.contracts import TASK_QUEUE, InboundMailInput
from cadence.services import inbound
from workflows.inbound_mail import InboundMailWorkflow, inbound_workflow_id

router = APIRouter(prefix="/inbound", tags=["inbound mail"])
_bearer = HTTPBearer(auto_error=False, description="CADENCE_INBOUND_TOKEN")
_HEADER = re.compile(rb"^[\x21-\x39\x3b-\x7e]+:", re.M)  # a header field name and its colon


class InboundToken(Rule):
    """The intake's own secret, separate from user tokens (a mail provider holds it)."""

    def __call__(
        self, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> None:
        secret = get_settings().inbound_token
        if secret is None:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "Inbound mail is off: set CADENCE_INBOUND_TOKEN on the API",
            )
        given = credentials.credentials if credentials else ""
        if not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "Missing or wrong inbound token: send "
                "'Authorization: Bearer <CADENCE_INBOUND_TOKEN>'",
                headers={"WWW-Authenticate": "Bearer"},
            )


InboundAuth = Depends(InboundToken(Access.intake))


async def start_processing(temporal: TemporalDep, message: InboundMailInput) -> str:
    """Start the message's InboundMailWorkflow, once (a repeat finds it started)."""
    workflow_id = inbound_workflow_id(message)
    try:
        handle: WorkflowHandle[InboundMailWorkflow, object] = await temporal.start_workflow(
            InboundMailWorkflow.run,
            message,
            id=workflow_id,
            task_queue=TASK_QUEUE,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        return handle.id
    except WorkflowAlreadyStartedError:
        return workflow_id
    except RPCError as err:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the message is stored (id {message.inbound_id}) but processing could not start: "
            f"{err.message}; send it again to retry",
        ) from err


@router.post(
    "/email",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[InboundAuth],
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "One raw RFC 822 message, as received",
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def receive(
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    mailbox: str | None = Query(None, max_length=320, description="the address it came to"),
) -> InboundAccepted:
    """The body is one raw RFC 822 message (``Content-Type: message/rfc822``). It is stored
    before anything else, then classified, matched and acted on in the background; the same
    message sent twice is kept once."""
    raw = await request.body()  # at most MAX_INBOUND_BYTES (api/limits.py)
    head = raw[:8192].lstrip()
    if not head or not _HEADER.match(head):
        what = "the body is empty" if not raw else "the body does not start with header fields"
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["body"], "msg": f"not an RFC 822 message: {what}"}],
        )
    message, new = inbound.store(session, raw, "api", mailbox)
    workflow_id = await start_processing(temporal, message)
    return InboundAccepted(id=message.inbound_id, duplicate=not new, workflow_id=workflow_id)


@router.get("/mailboxes", dependencies=[InboundAuth])
def mailboxes(session: SessionDep) -> dict[str, list[str]]:
    """The addresses mail to which is ours: every user's, and every configured mailbox."""
    users = session.exec(select(User.email).where(User.is_active == True)).all()  # noqa: E712
    configured = list(get_settings().mailboxes)
    return {"addresses": sorted({a.lower() for a in [*users, *configured]})}


def _visible_to(user: User) -> ColumnElement[bool] | None:
    """Reps see mail that came to their own address or answers an email sent as them;
    admins see everything, unmatched mail included."""
    if user.role == Role.admin:
        return None
    sent_as_them = select(EmailMessage.message_id).where(EmailMessage.sender == user.email)
    return or_(
        col(InboundMessage.mailbox) == user.email.lower(),
        col(InboundMessage.in_reply_to).in_(sent_as_them),
    )


@router.get("")
def list_inbound(
    session: SessionDep,
    user: OwnListUser,
    label: str | None = Query(None, description="human_reply, auto_reply, bounce_hard, ..."),
    matched: bool | None = Query(None, description="false: only mail matched to nobody"),
    person_id: IdParam | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_ID),
) -> InboundPage:
    """Everything received, newest first, unmatched mail included (a rep: their own)."""
    query = select(InboundMessage)
    visible = _visible_to(user)
    if visible is not None:
        query = query.where(visible)
    if label is not None:
        query = query.where(InboundMessage.label == label)
    if matched is not None:
        column = col(InboundMessage.matched_by)
        query = query.where(column.is_not(None) if matched else column.is_(None))
    if person_id is not None:
        query = query.where(InboundMessage.person_id == person_id)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(InboundMessage.id).desc()).offset(offset).limit(limit)
    ).all()
    return InboundPage(total=total, items=[InboundPublic.model_validate(r, from_attributes=True)
                                           for r in rows])  # fmt: skip


def _get(session: SessionDep, user: User, inbound_id: int) -> InboundMessage:
    query = select(InboundMessage).where(InboundMessage.id == inbound_id)
    visible = _visible_to(user)
    if visible is not None:
        query = query.where(visible)
    row = session.exec(query).first()
    if row is None:
        raise not_found("Inbound message", inbound_id)
    return row


@router.get("/{inbound_id}")
def get_inbound(inbound_id: IdParam, session: SessionDep, user: OwnerUser) -> InboundPublic:
    return InboundPublic.model_validate(_get(session, user, inbound_id), from_attributes=True)


@router.get("/{inbound_id}/raw", response_class=Response)
def get_raw(inbound_id: IdParam, session: SessionDep, user: OwnerUser) -> Response:
    """The message exactly as received."""
    return Response(_get(session, user, inbound_id).raw, media_type="message/rfc822")
