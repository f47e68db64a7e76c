"""Sending sales email over SMTP, exactly once per (enrollment, step).

Each message has a deterministic Message-ID. Before SMTP, the send claims it: a ``sending``
row with a lease, written in the transaction that reads the person and takes the mailbox
slot. The SMTP transaction commits (its final dot) only inside the lease; the row becomes
``sent`` with the "Send Sales Email" activity in one transaction. A retry that finds a
``sending`` row settles it first: found in the mailbox's Sent folder → sent, no second copy;
not found once the lease is over → the earlier attempt cannot have sent, so send; no
Sent-folder check configured → ``unconfirmed``, never a possible duplicate.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import Message
from email.utils import formataddr
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import col
from temporalio.exceptions import ApplicationError

from cadence.core.config import Settings, get_settings
from cadence.core.db import get_engine
from cadence.core.models import (
    MAX_ATTACHMENTS_BYTES,
    ActivityKind,
    Attachment,
    EmailMessage,
    utcnow,
)
from cadence.domain.contracts import SendEmailInput, SendEmailResult
from cadence.domain.templates import TemplateError, person_values, render
from cadence.services import Heartbeat, no_heartbeat
from cadence.services.activity_log import record_activity
from cadence.services.email import store as email_store
from cadence.services.email.links import Links, html_version, with_footer
from cadence.services.email.message import build_message, message_id_for
from cadence.services.email.quota import QuotaWait, as_retry, take_slot_in
from cadence.services.email.sent_check import SentCheckError, sent_check_for
from cadence.services.email.smtp_pool import NotDelivered, pool_for
from cadence.services.tracking import tracking_enabled
from cadence.services.unsubscribe_check import unsubscribed_in_marketo

log = logging.getLogger("cadence.email")

SETTLE_MARGIN = timedelta(seconds=5)  # clock skew between workers, Sent-folder filing


@dataclass
class _Prepared:
    mime: Message | None
    result: SendEmailResult | None  # set when there is nothing to send
    draft: EmailMessage | None = None  # the claimed row (status "sending")


def _guard(row: Any, commercial: bool) -> SendEmailResult | None:
    """The send-time guards, from the send's read: unsubscribed here (Marketo's flag arrives
    by the people sync; non-commercial mail skips it), an address that hard-bounced before,
    a blocked domain. None when the email may go."""
    if row.unsubscribed and commercial:
        return SendEmailResult(status="skipped", reason="unsubscribed", guard="unsubscribed")
    if row.bounced_before:
        reason = f"{row.email} hard-bounced before"
        return SendEmailResult(status="skipped", reason=reason, guard="bounced_before")
    if row.blocked_domain:
        reason = f"the domain {row.blocked_domain} is blocked"
        return SendEmailResult(status="skipped", reason=reason, guard="blocked_domain")
    return None


class _Unsettled(Exception):
    """An earlier attempt left this message mid-send: settle that first."""


class _Wait(Exception):
    """Try again later (an earlier attempt may still be sending, or the check failed)."""

    def __init__(self, reason: str, wait: timedelta) -> None:
        super().__init__(reason)
        self.wait = wait


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def _settle_earlier_attempt(
    inp: SendEmailInput, message_id: str, settings: Settings
) -> SendEmailResult | None:
    """What an earlier attempt left: a result when the message needs no sending (again),
    None when this attempt should send. Raises _Wait while that cannot be told yet."""
    with get_engine().connect() as conn:
        row = email_store.earlier_attempt(conn, message_id)
    if row is None or row.status == "unsent":
        return None
    if row.status != "sending":  # sent, unconfirmed or bounced: it went out before
        reason = "delivery unconfirmed" if row.status == "unconfirmed" else None
        return SendEmailResult(
            status="sent", message_id=message_id, subject=row.subject, sent_at=row.sent_at,
            reason=reason,
        )  # fmt: skip
    now = utcnow()
    lease_over = row.lease_until is None or now >= _aware(row.lease_until) + SETTLE_MARGIN
    check = sent_check_for(settings.mailbox_for(inp.owner.email))
    if check is not None:
        try:
            found = check(message_id)
        except SentCheckError as err:
            raise _Wait(str(err), timedelta(seconds=30)) from err
        if found:
            return _mark_sent(inp, message_id, row.subject, row.recipient, "sent")
    if not lease_over:
        assert row.lease_until is not None
        wait = _aware(row.lease_until) + SETTLE_MARGIN - now
        raise _Wait("an earlier attempt may still be sending", wait)
    if check is None:  # it may have gone out: never risk a second copy
        log.warning("%s: delivery unconfirmed (no Sent-folder check)", message_id)
        return _mark_sent(inp, message_id, row.subject, row.recipient, "unconfirmed")
    return None  # not in the Sent folder after the lease: the earlier attempt never sent


def _attachments(conn: Connection, ids: list[int]) -> list[tuple[str, str, bytes]]:
    if not ids:
        return []
    rows = conn.execute(
        sa.select(
            col(Attachment.id), col(Attachment.filename), col(Attachment.content_type),
            col(Attachment.data),
        ).where(col(Attachment.id).in_(ids))
    ).all()  # fmt: skip
    found = {row.id: row for row in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ApplicationError(
            f"attachment(s) {missing} not found", type="InvalidAttachment", non_retryable=True
        )
    files = [(found[i].filename, found[i].content_type, bytes(found[i].data)) for i in ids]
    total = sum(len(data) for _, _, data in files)
    if total > MAX_ATTACHMENTS_BYTES:
        raise ApplicationError(
            f"attachments total {total} bytes; at most {MAX_ATTACHMENTS_BYTES} per email",
            type="InvalidAttachment",
            non_retryable=True,
        )
    return files


def _lease_seconds(settings: Settings, files: list[tuple[str, str, bytes]]) -> float:
    """Long enough for the message: big attachments travel slowly to remote servers."""
    return settings.send_lease_seconds + sum(len(f[2]) for f in files) / 200_000


def _prepare(
    inp: SendEmailInput, settings: Settings, message_id: str, take_over: bool = False
) -> _Prepared:
    """Read what the message needs and claim it, in one transaction. ``take_over`` after
    settling showed that an earlier, unfinished attempt never sent it."""
    with get_engine().begin() as conn:  # the read, the mailbox-quota slot and the claim
        person = email_store.read_for_send(
            conn, person_id=inp.person_id, owner_id=inp.owner.id, message_id=message_id
        )
        if person is None:
            raise ApplicationError(f"person {inp.person_id} not found", type="InvalidRecipient")
        if person.existing == "sending" and not take_over:
            raise _Unsettled()
        if person.existing not in (None, "unsent", "sending"):
            raise _Unsettled()  # sent meanwhile: settling returns it
        guard = _guard(person, inp.commercial)
        if guard is None and inp.commercial and unsubscribed_in_marketo(person.marketo_id, False):
            guard = SendEmailResult(status="skipped", reason="unsubscribed in Marketo",
                                    guard="unsubscribed")  # fmt: skip
        if guard is not None:
            return _Prepared(None, guard)
        values = person_values(person, inp.owner)
        values["my_signature"] = person.signature  # the sender's signature as it is today
        links = None
        if tracking_enabled(settings):
            links = Links(
                settings,
                {"m": message_id, "p": person.id, "e": inp.enrollment_id, "c": inp.campaign_id},
            )
            values["team_unsubscribe"] = links.unsubscribe
        previous = email_store.previous_message(conn, inp.in_reply_to) if inp.in_reply_to else None
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
            if inp.commercial:
                placed = "{{team_unsubscribe" in inp.body
                body = with_footer(body, links, placed_by_template=placed)
                list_unsubscribe = (links.unsubscribe, links.mailto(settings.message_id_domain))
            html_body = html_version(body, links)
        files = _attachments(conn, inp.attachment_ids)
        mime = build_message(
            sender=formataddr((inp.owner.name, inp.owner.email)),
            to=person.email,
            subject=subject,
            body=body,
            message_id=message_id,
            in_reply_to=previous.message_id if previous is not None else None,
            html_body=html_body,
            list_unsubscribe=list_unsubscribe,
            cc=inp.cc,
            attachments=files,
        )
        now = utcnow()
        draft = EmailMessage(
            message_id=message_id,
            enrollment_id=inp.enrollment_id,
            step_id=inp.step_id if inp.enrollment_id is not None else None,
            person_id=person.id or 0,
            sender=inp.owner.email,
            recipient=person.email,
            subject=subject,
            body_text=body,
            status="sending",
            lease_until=now + timedelta(seconds=_lease_seconds(settings, files)),
            cc=inp.cc,
            bcc=inp.bcc,
            attachment_ids=inp.attachment_ids,
            template=inp.template or (inp.step_id if inp.enrollment_id is not None else None),
        )
        take_slot_in(conn, inp.owner.email, settings, now)
        if not email_store.claim(conn, draft, take_over=person.existing is not None):
            raise _Wait("another attempt holds this message", timedelta(seconds=5))
        return _Prepared(mime, None, draft)


def _release(message_id: str) -> None:
    """The server did not keep the message: a retry may send it."""
    with get_engine().begin() as conn:
        email_store.release(conn, message_id)


def _mark_sent(
    inp: SendEmailInput, message_id: str, subject: str, recipient: str, status: str
) -> SendEmailResult:
    """Mark the message sent (or unconfirmed) and log "Send Sales Email", in one transaction."""
    now = utcnow()
    with get_engine().begin() as conn:
        email_store.settle(conn, message_id, status, now)
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
                "step_id": inp.step_id if inp.enrollment_id is not None else None,
                "step_day": inp.step_day,
                "template": inp.template,
                "sender": inp.owner.email,
                "recipient": recipient,
                **({"unconfirmed": True} if status == "unconfirmed" else {}),
            },
        )
    reason = "delivery unconfirmed" if status == "unconfirmed" else None
    return SendEmailResult(
        status="sent", message_id=message_id, subject=subject, sent_at=now, reason=reason
    )


@contextmanager
def _heartbeating(enabled: bool, heartbeat: Heartbeat) -> Iterator[None]:
    """Heartbeat while a big message travels (small ones finish well inside the timeout)."""
    if not enabled:
        yield
        return
    stop = threading.Event()
    context = contextvars.copy_context()  # the activity context, for activity.heartbeat

    def beat() -> None:
        while not stop.wait(5.0):
            context.run(heartbeat)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class EmailSender:
    """Sends sales email (synchronous: the SMTP worker runs it on its thread pool)."""

    def send(self, inp: SendEmailInput, heartbeat: Heartbeat = no_heartbeat) -> SendEmailResult:
        """Send the message of (workflow, step) once; see the module's docstring."""
        return _send(inp, heartbeat)


def _send(inp: SendEmailInput, heartbeat: Heartbeat) -> SendEmailResult:
    settings = get_settings()
    if not settings.mailbox_for(inp.owner.email).host:
        # Outbound email is off for this sender: nothing is claimed or written, and the
        # send is retried (visible in the Temporal UI) until a server is configured.
        raise ApplicationError(
            f"outbound email is off: no SMTP server for {inp.owner.email}; set "
            "CADENCE_SMTP_HOST (or give this sender a mailbox with a host in "
            "CADENCE_MAILBOXES) and restart the worker",
            type="SmtpNotConfigured",
        )
    message_id = message_id_for(inp.workflow_id, inp.step_id, settings.message_id_domain)
    try:
        try:  # the common case first: nothing was attempted yet
            prepared = _prepare(inp, settings, message_id)
        except _Unsettled:
            settled = _settle_earlier_attempt(inp, message_id, settings)
            if settled is not None:
                return settled
            prepared = _prepare(inp, settings, message_id, take_over=True)
    except QuotaWait as wait:
        raise as_retry(wait) from None
    except _Wait as wait:
        raise ApplicationError(str(wait), type="SendPending", next_retry_delay=wait.wait) from None
    if prepared.result is not None:
        return prepared.result
    draft, mime = prepared.draft, prepared.mime
    assert draft is not None and mime is not None and draft.lease_until is not None
    big = bool(inp.attachment_ids)
    try:
        with _heartbeating(big, heartbeat):
            refused = pool_for(settings.mailbox_for(inp.owner.email)).send(
                mime,
                sender=inp.owner.email,
                to=draft.recipient,
                others=[*inp.cc, *inp.bcc],
                commit_by=draft.lease_until.timestamp() - 1.0,
            )
    except NotDelivered as err:
        _release(message_id)
        if err.permanent:
            kind = "InvalidRecipient" if "recipient" in str(err) else "SmtpRejected"
            raise ApplicationError(str(err), type=kind, non_retryable=True) from err
        raise ApplicationError(str(err), type="SmtpNotDelivered") from err
    # Any other error (DeliveryUnknown, a kill) leaves the claim: the retry settles it.
    if refused:
        log.warning("%s: copies refused for %s", message_id, sorted(refused))
    return _mark_sent(inp, message_id, draft.subject, draft.recipient, "sent")
