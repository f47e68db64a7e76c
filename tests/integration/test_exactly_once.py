"""Exactly-once delivery: what a retry does with a send an earlier attempt left unfinished.

A killed attempt leaves a ``sending`` row. The retry asks the mailbox's Sent folder (here the
sink's API, or IMAP) and never sends a second copy of what is there; what is not there is sent
once the earlier attempt's lease is over; with no way to check it is marked unconfirmed.
"""

from __future__ import annotations

import asyncio
import json
import smtplib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage as MimeMessage
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlmodel import Session as DbSession
from sqlmodel import col, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.email import EmailActivities
from cadence.core.auth import create_user
from cadence.core.config import Mailbox, get_settings
from cadence.core.db import get_engine
from cadence.core.models import ActivityKind, ActivityLog, EmailMessage, Person, Role, utcnow
from cadence.domain.contracts import OwnerSnapshot, SendEmailInput, SendEmailResult
from cadence.services.email import smtp_pool
from cadence.services.email.message import message_id_for
from cadence.services.email.send import EmailSender
from cadence.services.email.sent_check import SentCheckError, sent_check_for
from cadence.services.email.smtp_pool import NotDelivered, SmtpPool
from devstack.sink import MessageStore, serve
from tests.utils.fake_imap import FakeImap
from tests.utils.net import free_port


@dataclass
class Mail:
    sink: str
    smtp_port: int
    store: MessageStore
    inp: SendEmailInput

    @property
    def message_id(self) -> str:
        return message_id_for(self.inp.workflow_id, self.inp.step_id, "cadence.local")

    async def copies(self) -> int:
        async with httpx.AsyncClient() as http:
            found = await http.get(
                f"{self.sink}/api/messages", params={"message_id": self.message_id}
            )
        count: int = found.json()["count"]
        return count

    def row(self) -> EmailMessage | None:
        with DbSession(get_engine()) as session:
            return session.get(EmailMessage, self.message_id)

    def leave_unfinished(self, lease_left: timedelta) -> None:
        """What a worker killed mid-send leaves behind."""
        with DbSession(get_engine()) as session:
            session.add(
                EmailMessage(
                    message_id=self.message_id, enrollment_id=None, step_id=None,
                    person_id=self.inp.person_id, sender=self.inp.owner.email,
                    recipient="ada@example.com", subject="Hello Ada", body_text="Hi",
                    status="sending", lease_until=utcnow() + lease_left,
                )
            )  # fmt: skip
            session.commit()

    async def deliver_directly(self) -> None:
        """The earlier attempt got its message through before it died."""
        await asyncio.to_thread(self._deliver)

    def _deliver(self) -> None:
        msg = MimeMessage()
        msg["From"], msg["To"], msg["Subject"] = "rita@seller.example", "ada@example.com", "Hi"
        msg["Message-ID"] = self.message_id
        msg.set_content("Hi")
        with smtplib.SMTP("127.0.0.1", self.smtp_port) as smtp:
            smtp.send_message(msg)


async def run_send(inp: SendEmailInput) -> SendEmailResult:
    send_email = EmailActivities(EmailSender()).send_email
    return await asyncio.to_thread(ActivityEnvironment().run, send_email, inp)


@pytest.fixture
async def mail(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Mail]:
    smtp_port, http_port = free_port(), free_port()
    sink = f"http://127.0.0.1:{http_port}"
    monkeypatch.setenv("CADENCE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CADENCE_SMTP_PORT", str(smtp_port))
    monkeypatch.setenv("CADENCE_SENT_CHECK_URL", f"{sink}/api/messages")
    get_settings.cache_clear()
    server = asyncio.create_task(serve(tmp_path / "mail", smtp_port, http_port))
    with DbSession(get_engine()) as session:
        user, _ = create_user(session, name="Rita Rep", email="rita@seller.example", role=Role.rep)
        person = Person(email="ada@example.com", first_name="Ada", company="Acme")
        session.add(person)
        session.commit()
        owner = OwnerSnapshot(id=user.id or 0, name=user.name, email=user.email)
        person_id = person.id or 0
    inp = SendEmailInput(
        workflow_id=f"email/test/{tmp_path.name}", enrollment_id=None, campaign_id=None,
        campaign_name=None, step_id=f"person-{person_id}", step_day=None, person_id=person_id,
        owner=owner, subject="Hello {{first_name}}", body="Hi {{first_name}}",
    )  # fmt: skip
    async with httpx.AsyncClient() as http:
        for _ in range(100):
            try:
                if (await http.get(f"{sink}/health")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    yield Mail(sink, smtp_port, MessageStore(tmp_path / "mail"), inp)
    server.cancel()
    await asyncio.gather(server, return_exceptions=True)


def send_activities() -> int:
    with DbSession(get_engine()) as session:
        rows = session.exec(
            select(ActivityLog).where(col(ActivityLog.kind) == ActivityKind.send_email)
        ).all()
        return len(rows)


async def test_a_plain_send_claims_then_marks_sent(mail: Mail) -> None:
    result = await run_send(mail.inp)
    assert result.status == "sent"
    assert await mail.copies() == 1
    row = mail.row()
    assert row is not None and (row.status, row.lease_until) == ("sent", None)
    again = await run_send(mail.inp)  # a replayed or retried activity
    assert again.message_id == mail.message_id
    assert await mail.copies() == 1 and send_activities() == 1


async def test_a_send_that_got_through_before_the_kill_is_not_sent_again(mail: Mail) -> None:
    mail.leave_unfinished(timedelta(seconds=30))  # the lease has not even run out
    await mail.deliver_directly()
    result = await run_send(mail.inp)
    assert (result.status, result.reason) == ("sent", None)
    assert await mail.copies() == 1
    row = mail.row()
    assert row is not None and row.status == "sent"
    assert send_activities() == 1


async def test_a_send_cut_before_the_dot_waits_out_the_lease_then_goes_once(mail: Mail) -> None:
    mail.leave_unfinished(timedelta(seconds=30))
    with pytest.raises(ApplicationError) as waiting:
        await run_send(mail.inp)
    assert waiting.value.type == "SendPending"
    assert waiting.value.next_retry_delay is not None
    assert timedelta(seconds=30) < waiting.value.next_retry_delay <= timedelta(seconds=36)
    assert await mail.copies() == 0
    with get_engine().begin() as conn:  # the lease runs out
        conn.execute(sa.update(EmailMessage).values(lease_until=utcnow() - timedelta(minutes=1)))
    await run_send(mail.inp)
    assert await mail.copies() == 1
    row = mail.row()
    assert row is not None and row.status == "sent"


async def test_without_a_sent_check_an_unfinished_send_is_unconfirmed_never_repeated(
    mail: Mail, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CADENCE_SENT_CHECK_URL")
    get_settings.cache_clear()
    mail.leave_unfinished(timedelta(minutes=-1))
    result = await run_send(mail.inp)
    assert (result.status, result.reason) == (
        "sent",
        "delivery unconfirmed",
    )
    assert await mail.copies() == 0
    row = mail.row()
    assert row is not None and row.status == "unconfirmed"
    with DbSession(get_engine()) as session:
        logged = session.exec(select(ActivityLog)).one()
    assert logged.details["unconfirmed"] is True


class DropAfterDot:
    """A server that keeps the message, then loses the connection before it can say so."""

    def __init__(self, store: MessageStore) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content or b""
        assert isinstance(raw, bytes)  # aiosmtpd decodes to str only with decode_data=True
        self.store.add(str(envelope.mail_from), list(envelope.rcpt_tos), raw)
        assert isinstance(server.transport, asyncio.Transport)  # a TCP server's: abort() is there
        server.transport.abort()
        return "250 never heard"


async def test_a_reply_lost_after_the_dot_is_settled_without_a_second_copy(
    mail: Mail, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    port = free_port()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(DropAfterDot(mail.store)), host="127.0.0.1", port=port
    )
    monkeypatch.setenv("CADENCE_SMTP_PORT", str(port))
    get_settings.cache_clear()
    try:
        with pytest.raises(Exception, match="after the end of the message"):
            await run_send(mail.inp)
        row = mail.row()
        assert row is not None and row.status == "sending"  # the outcome is unknown
        assert await mail.copies() == 1
        await run_send(mail.inp)  # Temporal's retry
        assert await mail.copies() == 1
        row = mail.row()
        assert row is not None and row.status == "sent"
    finally:
        server.close()


async def test_a_refused_connection_releases_the_claim_for_the_retry(
    mail: Mail, monkeypatch: pytest.MonkeyPatch
) -> None:
    good_port = mail.smtp_port
    monkeypatch.setenv("CADENCE_SMTP_PORT", str(free_port()))  # nobody listens
    get_settings.cache_clear()
    with pytest.raises(ApplicationError) as failed:
        await run_send(mail.inp)
    assert failed.value.type == "SmtpNotDelivered" and not failed.value.non_retryable
    row = mail.row()
    assert row is not None and row.status == "unsent"
    monkeypatch.setenv("CADENCE_SMTP_PORT", str(good_port))
    get_settings.cache_clear()
    await run_send(mail.inp)  # sent at once: no lease to wait out
    assert await mail.copies() == 1


async def test_the_final_dot_never_goes_after_the_lease(mail: Mail) -> None:
    pool = SmtpPool(Mailbox(host="127.0.0.1", port=mail.smtp_port), size=1)
    msg = MimeMessage()
    msg["Message-ID"] = mail.message_id
    msg.set_content("late")
    with pytest.raises(NotDelivered, match="lease ran out"):
        await asyncio.to_thread(
            pool.send, msg, sender="r@s.example", to="a@b.example", commit_by=time.time() - 1
        )
    await asyncio.sleep(0.2)
    assert await mail.copies() == 0


async def test_the_imap_sent_folder_check() -> None:
    imap = FakeImap("rita", "s3cret", "Sent Items", ["<a@cadence.local>"])
    server = await asyncio.start_server(imap.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"imap://rita@127.0.0.1:{port}/Sent%20Items"
    check = sent_check_for(Mailbox(sent_check_url=url, password="s3cret"))
    assert check is not None
    assert await asyncio.to_thread(check, "<a@cadence.local>") is True
    assert await asyncio.to_thread(check, "<b@cadence.local>") is False
    assert imap.logins == ["rita", "rita"]
    wrong = sent_check_for(Mailbox(sent_check_url=url, password="nope"))
    assert wrong is not None
    with pytest.raises(SentCheckError):
        await asyncio.to_thread(wrong, "<a@cadence.local>")
    missing = sent_check_for(
        Mailbox(sent_check_url=f"imap://rita@127.0.0.1:{port}/Gone", password="s3cret")
    )
    assert missing is not None
    with pytest.raises(SentCheckError, match="Gone"):
        await asyncio.to_thread(missing, "<a@cadence.local>")
    server.close()
    with pytest.raises(ValueError, match="imap"):
        sent_check_for(Mailbox(sent_check_url="ftp://x/y"))


class Recording:
    """An SMTP server that wants a login and remembers who sent what."""

    def __init__(self) -> None:
        self.logins: list[str] = []
        self.messages: list[bytes] = []

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        login = data.login.decode() if isinstance(data, LoginPassword) else ""
        ok = isinstance(data, LoginPassword) and data.password == b"rita-s3cret"
        self.logins.append(login)
        return AuthResult(success=ok)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope.original_content or b"")
        return "250 OK"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_a_rep_with_a_mailbox_sends_through_it_with_their_login(
    mail: Mail, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = Recording()
    port = free_port()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(own, authenticator=own.authenticate, auth_required=True,
                     auth_require_tls=False, auth_exclude_mechanism=["LOGIN"]),
        host="127.0.0.1", port=port,
    )  # fmt: skip
    box = {
        "host": "127.0.0.1",
        "port": port,
        "username": "rita@seller.example",
        "password": "rita-s3cret",
    }
    monkeypatch.setenv("CADENCE_MAILBOXES", json.dumps({"Rita@Seller.example": box}))
    get_settings.cache_clear()
    try:
        await run_send(mail.inp)
        assert len(own.messages) == 1 and await mail.copies() == 0  # not the team server
        assert f"Message-ID: {mail.message_id}".encode() in own.messages[0]
        assert own.logins == ["rita@seller.example"]

        box["password"] = "wrong"
        monkeypatch.setenv("CADENCE_MAILBOXES", json.dumps({"rita@seller.example": box}))
        get_settings.cache_clear()
        monkeypatch.setattr(smtp_pool, "TIMEOUT_S", 2.0)  # aiosmtpd goes quiet after a failed login
        other = mail.inp.model_copy(update={"step_id": "another"})
        with pytest.raises(ApplicationError, match="cannot reach the SMTP server"):
            await run_send(other)  # retried later: an operator may fix the login
        assert len(own.messages) == 1
    finally:
        server.close()


async def test_without_an_smtp_server_a_send_waits_with_the_reason_and_writes_nothing(
    mail: Mail, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outbound email is off when no server is configured for the sender: the send fails,
    to be retried, saying what to set; nothing is claimed, sent or logged."""
    monkeypatch.delenv("CADENCE_SMTP_HOST")
    monkeypatch.delenv("CADENCE_SMTP_PORT")
    monkeypatch.delenv("CADENCE_SENT_CHECK_URL")
    get_settings.cache_clear()
    with pytest.raises(ApplicationError) as err:
        await run_send(mail.inp)
    assert err.value.type == "SmtpNotConfigured" and not err.value.non_retryable
    assert "CADENCE_SMTP_HOST" in str(err.value)
    assert mail.row() is None and send_activities() == 0 and await mail.copies() == 0
