"""Inbound mail, the database side: keep every message, classify it, find whose it is, and
record what it means. Each intake (the API, the IMAP poller, the local sink) stores first and
processes after, so nothing that arrived is lost when a step fails; processing a message
twice changes nothing.

Matching: the Message-IDs a message refers to (In-Reply-To, References, and the copy a bounce
or a feedback report returns) against the emails we sent; failing that, the sender (or, for a
bounce, the failed recipient) among our people, and then among the Cc of the emails we sent.
A reply from another address or from someone in Cc matches through the thread.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from cadence.core.config import get_settings
from cadence.core.db import run_db, session_scope
from cadence.core.models import (
    ActivityKind,
    EmailMessage,
    Enrollment,
    InboundMessage,
    InvalidAddress,
    Person,
    utcnow,
)
from cadence.domain.contracts import (
    RUNNING_STATUSES,
    InboundEvent,
    InboundMailInput,
    InboundSignal,
)
from cadence.replies.bounces import NOT_ABOUT_THE_ADDRESS
from cadence.replies.classify import Verdict, classify_mail
from cadence.replies.mail import Mail, read
from cadence.services.activity_log import record_activity
from cadence.services.optout import mark_invalid, running_enrollments, unsubscribe

MAX_INBOUND_BYTES = 40 * 1024 * 1024  # a 23 MB attachment, base64-encoded, and the rest


def store(
    session: Session, raw: bytes, source: str, mailbox: str | None
) -> tuple[InboundMailInput, bool]:
    """Keep a raw message (committed). The same bytes again return the first row and False,
    so a redelivery or a refetch is one message."""
    digest = hashlib.sha256(raw).hexdigest()
    found = session.exec(select(InboundMessage.id).where(InboundMessage.sha256 == digest)).first()
    if found is not None:
        return InboundMailInput(inbound_id=found, sha256=digest), False
    mail = read(raw)
    row = InboundMessage(
        sha256=digest,
        source=source,
        mailbox=mailbox.lower() if mailbox else None,
        message_id=mail.message_id,
        sender=mail.sender,
        subject=mail.subject[:998],
        raw=raw,
    )
    session.add(row)
    try:
        session.commit()
    except Exception:  # a concurrent intake stored the same bytes first
        session.rollback()
        again = session.exec(select(InboundMessage.id).where(InboundMessage.sha256 == digest))
        existing = again.first()
        if existing is None:
            raise
        return InboundMailInput(inbound_id=existing, sha256=digest), False
    assert row.id is not None
    return InboundMailInput(inbound_id=row.id, sha256=digest), True


@dataclass
class Match:
    person: Person | None = None
    by: str | None = None  # thread, sender, recipient
    email: EmailMessage | None = None  # ours, when matched through the thread
    enrollments: list[Enrollment] = field(default_factory=list)  # the running ones to tell


def _ours(session: Session, ids: Sequence[str]) -> EmailMessage | None:
    """The email we sent with one of these Message-IDs (stored with angle brackets)."""
    wanted = [f"<{i.strip('<>')}>" for i in ids]
    if not wanted:
        return None
    query = select(EmailMessage).where(col(EmailMessage.message_id).in_(wanted))
    by_id = {row.message_id: row for row in session.exec(query).all()}
    for message_id in wanted:  # In-Reply-To first, then References, then a returned copy
        if message_id in by_id:
            return by_id[message_id]
    return None


def _person_by_email(session: Session, address: str | None) -> Person | None:
    """The person with this address; of duplicates (Marketo keeps them), one with a running
    enrollment, else the one updated last."""
    if not address:
        return None
    people = session.exec(
        select(Person)
        .where(Person.email == address.lower())
        .order_by(col(Person.updated_at).desc())
    ).all()
    running = [p for p in people if running_enrollments(session, int(p.id or 0))]
    chosen = running or list(people)
    return chosen[0] if chosen else None


def match(session: Session, mail: Mail, verdict: Verdict) -> Match:
    """Whose message this is (see the module docstring)."""
    ids = [*mail.thread_ids, *mail.original_message_ids()]
    ours = _ours(session, ids)
    if ours is not None:
        person = session.get(Person, ours.person_id)
        enrollment = session.get(Enrollment, ours.enrollment_id) if ours.enrollment_id else None
        running = [enrollment] if enrollment and enrollment.status in RUNNING_STATUSES else []
        if verdict.label in ("unsubscribe", "bounce_hard") and person is not None:
            running = running_enrollments(session, int(person.id or 0))  # the person, not a thread
        return Match(person, "thread", ours, running)
    if verdict.label.startswith("bounce"):
        person, by = _person_by_email(session, verdict.failed_recipient), "recipient"
    else:
        person, by = _person_by_email(session, mail.sender), "sender"
        if person is None:
            copied = _copied_on(session, mail.sender)
            if copied is not None:  # someone we had in Cc, answering without the thread
                person = session.get(Person, copied.person_id)
                enrollment = (
                    session.get(Enrollment, copied.enrollment_id) if copied.enrollment_id else None
                )
                running = (
                    [enrollment] if enrollment and enrollment.status in RUNNING_STATUSES else []
                )
                return Match(person, "cc", copied, running)
    if person is None:
        return Match()
    return Match(person, by, None, running_enrollments(session, int(person.id or 0)))


def _copied_on(session: Session, address: str | None) -> EmailMessage | None:
    """The latest email we sent with this address in Cc."""
    if not address:
        return None
    quoted = f'"{address.lower()}"'  # an item of the JSON list
    query = (
        select(EmailMessage)
        .where(sa.func.lower(sa.cast(EmailMessage.cc, sa.String)).contains(quoted, autoescape=True))
        .order_by(col(EmailMessage.sent_at).desc())
        .limit(1)
    )
    return session.exec(query).first()


def _answered(session: Session, m: Match, person_id: int) -> EmailMessage | None:
    """The email of ours this message answers: the one its thread names; for a message matched
    by its sender (or a bounce by its failed recipient), the latest email we sent the person in
    one of the enrollments it concerns, else the latest we sent them at all."""
    if m.email is not None:
        return m.email
    query = (
        select(EmailMessage)
        .where(EmailMessage.person_id == person_id, col(EmailMessage.sent_at).is_not(None))
        .order_by(col(EmailMessage.sent_at).desc())
        .limit(1)
    )
    running = [int(e.id) for e in m.enrollments if e.id is not None]
    if running:
        found = session.exec(query.where(col(EmailMessage.enrollment_id).in_(running))).first()
        if found is not None:
            return found
    return session.exec(query).first()


def _event(verdict: Verdict, mail: Mail) -> InboundEvent | None:
    """What the enrollment hears about this message, if anything."""
    if verdict.label == "human_reply":
        return InboundEvent(kind="reply", message_id=mail.message_id)
    if verdict.label == "auto_reply":
        if verdict.address_gone:
            return InboundEvent(kind="bounce", message_id=mail.message_id)
        return InboundEvent(kind="out_of_office", return_date=verdict.return_date,
                            message_id=mail.message_id)  # fmt: skip
    if verdict.label == "bounce_hard":
        return InboundEvent(kind="bounce", message_id=mail.message_id)
    if verdict.label == "unsubscribe" or verdict.reason == "feedback report: abuse":
        return InboundEvent(kind="unsubscribe", message_id=mail.message_id)
    return None


def _bounced_address(verdict: Verdict, person: Person) -> str:
    return (verdict.failed_recipient or person.email or "").strip().lower()


def _soft_bounces_add_up(
    session: Session, row: InboundMessage, verdict: Verdict, person: Person
) -> bool:
    """Whether this soft bounce is the Nth for its address within the window
    (CADENCE_SOFT_BOUNCE_LIMIT, CADENCE_SOFT_BOUNCE_DAYS): a mailbox that only ever says
    "temporary" is dead all the same. Delays and reasons about our own mail do not count."""
    settings = get_settings()
    if (
        settings.soft_bounce_limit == 0
        or verdict.label != "bounce_soft"
        or verdict.reason in NOT_ABOUT_THE_ADDRESS
        or person.id is None
    ):
        return False
    address = _bounced_address(verdict, person)
    since = row.received_at - timedelta(days=settings.soft_bounce_days)
    earlier = session.exec(
        select(InboundMessage).where(
            InboundMessage.person_id == person.id,
            InboundMessage.label == "bounce_soft",
            InboundMessage.id != row.id,
            col(InboundMessage.received_at) >= since,
            col(InboundMessage.received_at) <= row.received_at,
            col(InboundMessage.processed_at).is_not(None),
        )
    ).all()
    counted = [
        e
        for e in earlier
        if e.reason not in NOT_ABOUT_THE_ADDRESS
        and (e.failed_recipient or person.email or "").strip().lower() == address
    ]
    return len(counted) + 1 >= settings.soft_bounce_limit


def _dead_by_soft_bounces(session: Session, row: InboundMessage) -> bool:
    """This soft bounce is the one that ended its address (recorded by ``_record``)."""
    if row.label != "bounce_soft" or row.id is None:
        return False
    query = select(InvalidAddress).where(InvalidAddress.inbound_id == row.id)
    return session.exec(query).first() is not None


def _record(
    session: Session,
    row: InboundMessage,
    mail: Mail,
    verdict: Verdict,
    m: Match,
    dead: bool = False,
) -> None:
    """The sales activities and address state this message implies; ``dead``: a soft bounce
    that completes the repeated soft-bounce rule, recorded as a hard one."""
    person = m.person
    if person is None or person.id is None:
        return
    answered = _answered(session, m, person.id)
    enrollment_id = answered.enrollment_id if answered else None
    enrollment = session.get(Enrollment, enrollment_id) if enrollment_id else None
    campaign_id = enrollment.campaign_id if enrollment else None
    ours = answered.message_id if answered else None
    step_id = answered.step_id if answered and enrollment_id else None
    common: dict[str, Any] = {"person_id": person.id, "enrollment_id": enrollment_id,
                              "campaign_id": campaign_id}  # fmt: skip
    if verdict.label == "human_reply":
        record_activity(
            session, key=f"inbound/{row.id}/reply", kind=ActivityKind.reply_email,
            subject=mail.subject or None, occurred_at=mail.sent_at,
            details={"message_id": ours, "reply_message_id": mail.message_id,
                     "from": mail.sender, "matched_by": m.by, "step_id": step_id},
            **common,
        )  # fmt: skip
    elif verdict.label.startswith("bounce") or verdict.address_gone:
        hard = verdict.label == "bounce_hard" or verdict.address_gone or dead
        record_activity(
            session, key=f"inbound/{row.id}/bounce", kind=ActivityKind.email_bounced,
            subject=answered.subject if answered else mail.subject or None,
            details={"message_id": ours, "category": "hard" if hard else "soft",
                     "status": verdict.status, "reason": verdict.reason,
                     "recipient": verdict.failed_recipient or person.email,
                     "step_id": step_id, "repeated_soft": dead},
            **common,
        )  # fmt: skip
        if hard:
            why = f"repeated soft bounces: {verdict.reason}" if dead else verdict.reason
            mark_invalid(session, verdict.failed_recipient or person.email, why,
                         verdict.status, row.id)  # fmt: skip
            if m.email is not None and m.email.recipient == person.email:
                m.email.status = "bounced"
                session.add(m.email)
    elif verdict.label == "unsubscribe" or verdict.reason == "feedback report: abuse":
        via = "complaint" if verdict.label == "other" else "email"
        unsubscribe(session, person, via=via, enrollment_id=enrollment_id,
                    campaign_id=campaign_id, message_id=ours)  # fmt: skip


def process(session: Session, inbound_id: int) -> list[InboundSignal]:
    """Classify, match and record one stored message (once), and say which running
    enrollments to tell. Running it again returns the same signals and writes nothing."""
    row = session.get(InboundMessage, inbound_id)
    if row is None:
        raise LookupError(f"no inbound message {inbound_id}")
    mail = read(row.raw)
    verdict = classify_mail(mail)
    if row.processed_at is None:
        m = match(session, mail, verdict)
        row.label, row.reason, row.status_code = verdict.label, verdict.reason, verdict.status
        row.return_date, row.failed_recipient = verdict.return_date, verdict.failed_recipient
        row.matched_by = m.by
        row.in_reply_to = m.email.message_id if m.email else None
        row.person_id = m.person.id if m.person else None
        if verdict.label == "bounce_soft" and m.person is not None:
            running = running_enrollments(session, int(m.person.id or 0))
            dead = _soft_bounces_add_up(session, row, verdict, m.person)
            if dead:  # like a hard bounce: every running enrollment of the person hears it
                m.enrollments = running
        else:
            dead = False
        row.enrollment_ids = [int(e.id or 0) for e in m.enrollments]
        _record(session, row, mail, verdict, m, dead)
        row.processed_at = utcnow()
        session.add(row)
        session.commit()
    event = _event(verdict, mail)
    if _dead_by_soft_bounces(session, row):
        event = InboundEvent(kind="bounce", message_id=mail.message_id)
    if event is None or not row.enrollment_ids:
        return []
    if verdict.failed_recipient and row.person_id is not None:
        person = session.get(Person, row.person_id)
        if person is not None and person.email != verdict.failed_recipient:
            return []  # a copy to someone else bounced: the person's address is fine
    workflows = session.exec(
        select(Enrollment.workflow_id).where(col(Enrollment.id).in_(row.enrollment_ids))
    ).all()
    return [InboundSignal(workflow_id=w, event=event) for w in workflows]


class InboundMail:
    """Stored inbound messages, processed once each."""

    async def process(self, inbound_id: int) -> list[InboundSignal]:
        """Classify, match and record one stored message; whom to tell (idempotent). Raises
        LookupError when there is no such message."""
        return await run_db(_process, inbound_id)


def _process(inbound_id: int) -> list[InboundSignal]:
    with session_scope() as session:
        return process(session, inbound_id)
