"""Sending sales email over SMTP, once per (enrollment, step)."""

from __future__ import annotations

import hashlib
import smtplib
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime, formataddr

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import col
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.email_links import Links, html_version, with_footer
from activities.mailbox_quota import QuotaWait, as_retry, take_slot_in
from activities.smtp_pool import pool_for
from cadence.activity_log import record_activity
from cadence.config import Settings, get_settings
from cadence.db import get_engine, insert_ignoring_duplicates
from cadence.models import ActivityKind, BlockedDomain, EmailMessage, Person, User, utcnow
from cadence.templates import TemplateError, person_values, render
from cadence.tracking import tracking_enabled
from workflows.contracts import SendEmailInput, SendEmailResult


def message_id_for(workflow_id: str, step_id: str, domain: str) -> str:
    """Deterministic Message-ID: the same (enrollment, step) always yields the same id."""
    digest = hashlib.sha256(f"{workflow_id}|{step_id}".encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


@dataclass
class _Prepared:
    mime: Message | None
    result: SendEmailResult | None  # set when there is nothing to send
    draft: EmailMessage | None = None  # stored once the server has accepted the message


_UTF8 = Charset("utf-8")
_UTF8.header_encoding = _UTF8.body_encoding = QP


def build_message(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    message_id: str,
    in_reply_to: str | None,
    html_body: str | None = None,
    list_unsubscribe: tuple[str, str] | None = None,
) -> Message:
    """Text (and, with tracking, HTML) in UTF-8 quoted-printable. Built with the compat32
    classes: the modern header registry parses every header again and costs more than the
    send. ``list_unsubscribe`` is (https URL, mailto URL) for RFC 8058 one-click."""
    text = MIMENonMultipart("text", "plain")
    text.set_payload(body, _UTF8)
    mime: Message = text
    if html_body is not None:
        rich = MIMENonMultipart("text", "html")
        rich.set_payload(html_body, _UTF8)
        mime = MIMEMultipart("alternative", _subparts=[text, rich])
    mime["From"] = sender
    mime["To"] = to
    mime["Subject"] = subject if subject.isascii() else Header(subject, _UTF8).encode()
    mime["Message-ID"] = message_id
    mime["Date"] = format_datetime(utcnow())
    if in_reply_to is not None:
        mime["In-Reply-To"] = in_reply_to
        mime["References"] = in_reply_to
    if list_unsubscribe is not None:
        https, mailto = list_unsubscribe
        mime["List-Unsubscribe"] = f"<{https}>, <{mailto}>"
        mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return mime


def _guard(conn: Connection, email: str, unsubscribed: bool) -> SendEmailResult | None:
    """The send-time guards: unsubscribed here (Marketo's flag arrives by the people sync),
    an address that hard-bounced before, a blocked domain. None when the email may go."""
    if unsubscribed:
        return SendEmailResult(status="skipped", reason="unsubscribed", guard="unsubscribed")
    bounced = conn.execute(
        sa.select(col(EmailMessage.message_id)).where(
            col(EmailMessage.recipient) == email, col(EmailMessage.status) == "bounced"
        )
    ).first()
    if bounced is not None:
        reason = f"{email} hard-bounced before"
        return SendEmailResult(status="skipped", reason=reason, guard="bounced_before")
    domain = email.rsplit("@", 1)[-1].lower()
    blocked = conn.execute(
        sa.select(col(BlockedDomain.domain)).where(col(BlockedDomain.domain) == domain)
    ).first()
    if blocked is not None:
        reason = f"the domain {domain} is blocked"
        return SendEmailResult(status="skipped", reason=reason, guard="blocked_domain")
    return None


def _prepare(inp: SendEmailInput, settings: Settings, message_id: str) -> _Prepared:
    """Read what the message needs (plain SQL reads: this runs once per email sent)."""
    with get_engine().begin() as conn:  # reads, and the mailbox-quota slot when it will send
        existing = conn.execute(
            sa.select(col(EmailMessage.subject), col(EmailMessage.sent_at)).where(
                col(EmailMessage.message_id) == message_id, col(EmailMessage.status) == "sent"
            )
        ).first()
        if existing is not None:
            return _Prepared(
                None,
                SendEmailResult(
                    status="sent",
                    message_id=message_id,
                    subject=existing.subject,
                    sent_at=existing.sent_at,
                ),
            )
        person = conn.execute(
            sa.select(
                col(Person.id), col(Person.email), col(Person.unsubscribed), col(Person.first_name),
                col(Person.last_name), col(Person.company), col(Person.title), col(Person.phone),
            ).where(col(Person.id) == inp.person_id)
        ).first()  # fmt: skip
        if person is None:
            raise ApplicationError(f"person {inp.person_id} not found", type="InvalidRecipient")
        guard = _guard(conn, person.email, bool(person.unsubscribed))
        if guard is not None:
            return _Prepared(None, guard)
        values = person_values(person, inp.owner)
        values["my_signature"] = conn.execute(  # the sender's signature as it is today
            sa.select(col(User.signature)).where(col(User.id) == inp.owner.id)
        ).scalar()
        links = None
        if tracking_enabled(settings):
            links = Links(
                settings,
                {"m": message_id, "p": person.id, "e": inp.enrollment_id, "c": inp.campaign_id},
            )
            values["team_unsubscribe"] = links.unsubscribe
        previous = (
            conn.execute(
                sa.select(col(EmailMessage.subject), col(EmailMessage.message_id)).where(
                    col(EmailMessage.message_id) == inp.in_reply_to
                )
            ).first()
            if inp.in_reply_to
            else None
        )
        try:
            body = render(inp.body, values)
            if inp.subject and not previous:
                subject = render(inp.subject, values)
            elif previous is not None:
                subject = previous.subject
                subject = subject if subject.lower().startswith("re:") else f"Re: {subject}"
            else:
                subject = render(inp.subject or "", values)
        except TemplateError as err:
            raise ApplicationError(str(err), type="TemplateError", non_retryable=True) from err

        html_body, list_unsubscribe = None, None
        if links is not None:
            body = with_footer(body, links, placed_by_template="{{team_unsubscribe" in inp.body)
            html_body = html_version(body, links)
            list_unsubscribe = (links.unsubscribe, links.mailto(settings.message_id_domain))
        mime = build_message(
            sender=formataddr((inp.owner.name, inp.owner.email)),
            to=person.email,
            subject=subject,
            body=body,
            message_id=message_id,
            in_reply_to=previous.message_id if previous is not None else None,
            html_body=html_body,
            list_unsubscribe=list_unsubscribe,
        )
        draft = EmailMessage(
            message_id=message_id,
            enrollment_id=inp.enrollment_id,
            step_id=inp.step_id,
            person_id=person.id or 0,
            sender=inp.owner.email,
            recipient=person.email,
            subject=subject,
            body_text=body,
        )
        take_slot_in(conn, inp.owner.email, settings)
        return _Prepared(mime, None, draft)


def _mark_sent(inp: SendEmailInput, draft: EmailMessage) -> SendEmailResult:
    """Store the sent message and log "Send Sales Email" in one transaction."""
    now = utcnow()
    message_id, subject = draft.message_id, draft.subject
    with get_engine().begin() as conn:
        draft.status, draft.sent_at = "sent", now
        insert_ignoring_duplicates(conn, EmailMessage, draft.model_dump())
        row = draft
        record_activity(
            conn,
            key=f"{inp.workflow_id}/{inp.step_id}/send_email",
            kind=ActivityKind.send_email,
            person_id=inp.person_id,
            subject=subject,
            campaign_id=inp.campaign_id,
            enrollment_id=inp.enrollment_id,
            user_id=inp.owner.id,
            occurred_at=now,
            details={
                "message_id": message_id,
                "campaign_name": inp.campaign_name,
                "step_id": inp.step_id,
                "step_day": inp.step_day,
                "sender": inp.owner.email,
                "recipient": row.recipient,
            },
        )
    return SendEmailResult(status="sent", message_id=message_id, subject=subject, sent_at=now)


@activity.defn
def send_email(inp: SendEmailInput) -> SendEmailResult:
    """Synchronous: runs on the SMTP worker's thread pool (see worker.py)."""
    settings = get_settings()
    message_id = message_id_for(inp.workflow_id, inp.step_id, settings.message_id_domain)
    try:
        prepared = _prepare(inp, settings, message_id)
    except QuotaWait as wait:
        raise as_retry(wait) from None
    if prepared.result is not None:
        return prepared.result
    assert prepared.mime is not None and prepared.draft is not None
    try:
        pool_for(settings).send(prepared.mime)
    except smtplib.SMTPRecipientsRefused as err:
        raise ApplicationError(
            f"recipient refused: {err.recipients}", type="InvalidRecipient", non_retryable=True
        ) from err
    return _mark_sent(inp, prepared.draft)
