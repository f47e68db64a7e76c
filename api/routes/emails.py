"""Sales email outside campaigns (POST /emails, one-off and group) and the Email tab: sent
emails with what became of them (opened, clicked, replied)."""

from __future__ import annotations

import re
import uuid

from fastapi import APIRouter, Header, HTTPException, Query, status
from sqlmodel import col, select
from temporalio.client import WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.deps import OwnerUser, OwnListUser, RepUser, SessionDep, TemporalDep, not_found
from api.routes.attachments import attachments_for
from api.schemas import (
    EmailDetail,
    EmailPublic,
    IdParam,
    SalesEmailAccepted,
    SalesEmailMessage,
    SalesEmailRequest,
)
from api.workflow_calls import call_workflow
from cadence.core.config import get_settings
from cadence.core.models import (
    ActivityKind,
    ActivityLog,
    Campaign,
    EmailMessage,
    Enrollment,
    Person,
    Role,
    User,
)
from cadence.domain.contracts import (
    TASK_QUEUE,
    OwnerSnapshot,
    SalesEmailInput,
    SalesEmailOutcome,
    sales_email_step_id,
)
from cadence.domain.templates import template_problems
from cadence.services.email.message import message_id_for
from workflows.sales_email import SalesEmailWorkflow, sales_email_workflow_id

router = APIRouter(prefix="/emails", tags=["emails"])
_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def _recipients(session: SessionDep, body: SalesEmailRequest) -> list[Person]:
    """Every recipient must be a known person: nothing is sent if one is not."""
    problems: list[dict[str, object]] = []
    people: dict[int, Person] = {}
    if body.person_ids:
        found = session.exec(select(Person).where(col(Person.id).in_(body.person_ids))).all()
        by_id = {p.id: p for p in found}
        for index, person_id in enumerate(body.person_ids):
            if person_id in by_id:
                people[person_id] = by_id[person_id]
            else:
                problems.append({"loc": ["body", "person_ids", index], "msg": "no such person"})
    if body.emails:
        wanted = [str(e).lower() for e in body.emails]
        found = session.exec(select(Person).where(col(Person.email).in_(wanted))).all()
        by_email: dict[str, list[Person]] = {}
        for person in found:
            by_email.setdefault(person.email.lower(), []).append(person)
        for index, address in enumerate(wanted):
            matches = by_email.get(address, [])
            if len(matches) == 1:
                people[matches[0].id or 0] = matches[0]
            elif not matches:
                problems.append({"loc": ["body", "emails", index], "msg": "no such person"})
            else:  # duplicates in Marketo
                ids = ", ".join(str(p.id) for p in matches)
                problems.append({"loc": ["body", "emails", index],
                                 "msg": f"{len(matches)} people have this address (ids {ids}): "
                                        "give person_ids"})  # fmt: skip
    if not body.person_ids and not body.emails:
        problems.append({"loc": ["body"], "msg": "give person_ids or emails"})
    if problems:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problems)
    return list(people.values())


def _check_templates(body: SalesEmailRequest) -> None:
    problems = [
        {"loc": ["body", where], "msg": problem}
        for where, text in (("subject", body.subject), ("body", body.body))
        for problem in template_problems(text, prompts_allowed=False)
    ]
    if problems:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problems)


def _accepted(
    request_id: str,
    people: list[Person],
    outcomes: list[SalesEmailOutcome] | None,
    done: bool,
) -> SalesEmailAccepted:
    domain = get_settings().message_id_domain
    workflow_id = sales_email_workflow_id(request_id)
    known = {o.person_id: o for o in outcomes or []}
    messages = []
    for person in people:
        person_id = person.id or 0
        outcome = known.get(person_id)
        messages.append(
            SalesEmailMessage(
                person_id=person_id,
                email=person.email,
                message_id=message_id_for(workflow_id, sales_email_step_id(person_id), domain),
                status=outcome.status if outcome else "pending",
                reason=outcome.reason if outcome else None,
                guard=outcome.guard if outcome else None,
            )
        )
    return SalesEmailAccepted(
        request_id=request_id,
        workflow_id=workflow_id,
        status="completed" if done else "running",
        messages=messages,
    )


@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def send_sales_email(
    body: SalesEmailRequest,
    session: SessionDep,
    user: RepUser,
    temporal: TemporalDep,
    idempotency_key: str | None = Header(default=None, description="repeat-safe request id"),
) -> SalesEmailAccepted:
    """Send a sales email as yourself to one person or a group (up to 200), each message
    personalised. Nothing is sent unless every recipient, field and attachment is right.
    With an Idempotency-Key, repeating the request sends nothing again."""
    if idempotency_key is not None and not _KEY.match(idempotency_key):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["header", "Idempotency-Key"], "msg": "1-100 of A-Z a-z 0-9 . _ : -"}],
        )
    _check_templates(body)
    people = _recipients(session, body)
    attachments_for(session, user, body.attachment_ids, "attachment_ids")
    request_id = f"u{user.id}-{idempotency_key or uuid.uuid4().hex}"
    inp = SalesEmailInput(
        owner=OwnerSnapshot(id=user.id or 0, name=user.name, email=user.email, title=user.title),
        person_ids=[p.id or 0 for p in people],
        subject=body.subject,
        body=body.body,
        cc=[str(a) for a in body.cc],
        bcc=[str(a) for a in body.bcc],
        attachment_ids=body.attachment_ids,
        commercial=not body.non_commercial,
        template=body.template,
    )
    try:
        await temporal.start_workflow(
            SalesEmailWorkflow.run,
            inp,
            id=sales_email_workflow_id(request_id),
            task_queue=TASK_QUEUE,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"Sales email from {user.email} to {len(people)} people",
        )
    except WorkflowAlreadyStartedError:
        pass  # the same request, already done: nothing is sent again
    except RPCError as err:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"Temporal: {err}") from err
    return _accepted(request_id, people, None, done=False)


def _request_handle(
    temporal: TemporalDep, user: User, request_id: str
) -> WorkflowHandle[SalesEmailWorkflow, list[SalesEmailOutcome]]:
    if user.role != Role.admin and not request_id.startswith(f"u{user.id}-"):
        raise not_found("Email request", request_id)
    return temporal.get_workflow_handle_for(
        SalesEmailWorkflow.run, sales_email_workflow_id(request_id)
    )


@router.get("/requests/{request_id}")
async def get_sales_email_request(
    request_id: str, session: SessionDep, user: OwnerUser, temporal: TemporalDep
) -> SalesEmailAccepted:
    """Where a POST /emails request stands: each recipient's message and its outcome."""
    handle = _request_handle(temporal, user, request_id)
    what, gone = f"Email request {request_id}", status.HTTP_404_NOT_FOUND
    outcomes = await call_workflow(handle.query(SalesEmailWorkflow.results), what, gone)
    described = await call_workflow(handle.describe(), what, gone)
    ids = [o.person_id for o in outcomes]
    people = session.exec(select(Person).where(col(Person.id).in_(ids))).all()
    order = {pid: i for i, pid in enumerate(ids)}
    people = sorted(people, key=lambda p: order.get(p.id or 0, 0))
    done = described.status is not None and described.status.name != "RUNNING"
    return _accepted(request_id, list(people), outcomes, done)


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
        template=message.template,
        status=message.status,
        sent_at=message.sent_at,
        opened=ActivityKind.open_email in seen,
        clicked=ActivityKind.click_email in seen,
        replied=ActivityKind.reply_email in seen,
    )


@router.get("")
def list_emails(
    session: SessionDep,
    user: OwnListUser,
    person_id: IdParam | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[EmailPublic]:
    """Newest first. Reps see the emails sent as them; admins see all."""
    query = select(EmailMessage, Campaign.name).outerjoin(
        Enrollment, col(Enrollment.id) == col(EmailMessage.enrollment_id)
    ).outerjoin(Campaign, col(Campaign.id) == col(Enrollment.campaign_id))  # fmt: skip
    if user.role != Role.admin:
        query = query.where(EmailMessage.sender == user.email)
    if person_id is not None:
        query = query.where(EmailMessage.person_id == person_id)
    rows = session.exec(query.order_by(col(EmailMessage.sent_at).desc()).limit(limit)).all()
    seen = _reactions(session, [m.message_id for m, _ in rows])
    return [_public(m, name, seen[m.message_id]) for m, name in rows]


@router.get("/{message_id}")
def get_email(message_id: str, session: SessionDep, user: OwnerUser) -> EmailDetail:
    """One email with its text (a rep: one sent as them)."""
    message = session.get(EmailMessage, message_id)
    if message is None or (user.role != Role.admin and message.sender != user.email):
        raise not_found("Email", message_id)
    enrollment = session.get(Enrollment, message.enrollment_id) if message.enrollment_id else None
    campaign = session.get(Campaign, enrollment.campaign_id) if enrollment else None
    seen = _reactions(session, [message_id])[message_id]
    public = _public(message, campaign.name if campaign else None, seen)
    return EmailDetail(
        **public.model_dump(),
        body_text=message.body_text,
        cc=message.cc,
        bcc=message.bcc,
        attachment_ids=message.attachment_ids,
    )
