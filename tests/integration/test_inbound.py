"""Inbound mail end to end through the API and a real dev server: the intake's rules, replies
that end enrollments (from another address too), out-of-office pauses, bounces that mark an
address dead for every campaign, unsubscribes in words, unmatched mail kept and listed, and
the local sink handing replies to the intake."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from api.limits import BODY_LIMITS
from cadence.core.config import get_settings
from cadence.core.db import get_engine
from cadence.core.models import (
    ActivityKind,
    ActivityLog,
    InboundMessage,
    InvalidAddress,
    Person,
    utcnow,
)
from cadence.domain.salesforce_tasks import DEFAULT_SUBJECT_TEMPLATE
from cadence.integrations.salesforce_tasks import task_fields
from devstack.sink import serve
from tests.utils.api import Api
from tests.utils.factories import PLAYBOOK
from tests.utils.inbound import TOKEN, enroll_and_wait_for_first_email, post_mail, processed
from tests.utils.net import free_port

PAUSING = PLAYBOOK.replace(
    'send_window: {start: "00:00", end: "23:59"}}',
    'send_window: {start: "00:00", end: "23:59"}, on_ooo: {action: pause_until_return}}',
)


@pytest.fixture(autouse=True)
def inbound_token(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CADENCE_INBOUND_TOKEN", TOKEN)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def logged(kind: ActivityKind) -> list[ActivityLog]:
    with Session(get_engine()) as session:
        return [a for a in session.exec(select(ActivityLog)).all() if a.kind == kind]


async def enrollment_when(api: Api, enrollment_id: int, done: Any) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for _ in range(1200):
        row = (await api.call("GET", f"/enrollments/{enrollment_id}")).json()
        if done(row):
            return row
        await asyncio.sleep(0.05)
    return row


def reply(message_id: str, sender: str = "ada@example.com", body: str = "Sounds good, call me.",
          subject: str = "Re: Hello Ada", headers: str = "") -> str:  # fmt: skip
    return (
        f"From: Ada <{sender}>\r\nTo: Rep <rep@seller.test>\r\nSubject: {subject}\r\n"
        f"Date: {format_datetime(utcnow())}\r\n"
        f"Message-ID: <r{abs(hash(body))}@mail.example.com>\r\n"
        f"In-Reply-To: {message_id}\r\nReferences: {message_id}\r\n{headers}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\r\n"
        f"On Mon, Ada's rep wrote:\r\n> Hi Ada, a quick question.\r\n"
    )


async def test_the_intake_refuses_what_it_cannot_take(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = reply("<x@seller.test>")
    missing = await api.http.post("/inbound/email", content=message)
    assert missing.status_code == 401 and "CADENCE_INBOUND_TOKEN" in missing.json()["detail"]
    wrong = await api.http.post("/inbound/email", content=message,
                                headers={"Authorization": "Bearer nope"})  # fmt: skip
    assert wrong.status_code == 401
    user_token = await api.call("POST", "/inbound/email", content=message)  # an admin's token
    assert user_token.status_code == 401
    empty = await post_mail(api, b"")
    assert empty.status_code == 422 and empty.json()["detail"][0]["loc"] == ["body"]
    assert "empty" in empty.json()["detail"][0]["msg"]
    prose = await post_mail(api, "just some words, no header fields\r\n")
    assert prose.status_code == 422 and "header fields" in prose.json()["detail"][0]["msg"]
    monkeypatch.setitem(BODY_LIMITS, ("POST", "/inbound/email"), 1000)
    big = await post_mail(api, message + "x" * 2000)
    assert big.status_code == 413 and "at most 1000 bytes" in big.json()["detail"]
    with Session(get_engine()) as session:
        assert session.exec(select(InboundMessage)).all() == []  # nothing half-written
    monkeypatch.delenv("CADENCE_INBOUND_TOKEN")
    get_settings.cache_clear()
    off = await post_mail(api, message)
    assert off.status_code == 503 and "CADENCE_INBOUND_TOKEN" in off.json()["detail"]


async def test_a_reply_from_another_address_ends_the_enrollment_once(api: Api) -> None:
    enrollment_id, message_id = await enroll_and_wait_for_first_email(api)
    raw = reply(message_id, sender="ada.lovelace@home.example")  # her own address, in thread
    first = await post_mail(api, raw, mailbox="rep@seller.test")
    assert first.status_code == 202 and first.json()["duplicate"] is False
    again = await post_mail(api, raw)
    assert again.status_code == 202 and again.json() == {**first.json(), "duplicate": True}

    item = await processed(api, first.json()["id"])
    assert item["label"] == "human_reply" and item["matched_by"] == "thread"
    assert item["in_reply_to"] == message_id and item["enrollment_ids"] == [enrollment_id]
    assert item["mailbox"] == "rep@seller.test"
    row = await enrollment_when(api, enrollment_id, lambda r: r["status"] != "active")
    assert row["status"] == "completed" and row["end_reason"] == "replied"
    replies = logged(ActivityKind.reply_email)
    assert len(replies) == 1 and replies[0].enrollment_id == enrollment_id
    assert replies[0].details["message_id"] == message_id
    assert replies[0].details["from"] == "ada.lovelace@home.example"
    assert replies[0].details["campaign_name"] == "API test"
    raw_back = await api.call("GET", f"/inbound/{first.json()['id']}/raw")
    assert raw_back.content == raw.encode()
    # the rep who sent the email sees the answer to it
    seen = (await api.call("GET", "/inbound", role="rep")).json()["items"]
    assert [i["id"] for i in seen] == [first.json()["id"]]


async def test_someone_we_had_in_cc_answering_outside_the_thread_counts(api: Api) -> None:
    copied = PLAYBOOK.replace(
        'body: "Hi {{first_name}}, a quick question."',
        'body: "Hi {{first_name}}, a quick question."\n    cc: [Grace.Hopper@Example.com]',
    )
    enrollment_id, _ = await enroll_and_wait_for_first_email(api, copied)
    fresh = (
        "From: Grace Hopper <grace.hopper@example.com>\r\nTo: rep@seller.test\r\n"
        "Subject: Your note to Ada\r\nMessage-ID: <g1@example.com>\r\n\r\n"
        "Ada asked me to take this over. Can you call me tomorrow?\r\n"
    )
    item = await processed(api, (await post_mail(api, fresh)).json()["id"])
    assert (item["label"], item["matched_by"]) == ("human_reply", "cc")
    row = await enrollment_when(api, enrollment_id, lambda r: r["status"] != "active")
    assert row["end_reason"] == "replied"
    assert logged(ActivityKind.reply_email)[0].details["from"] == "grace.hopper@example.com"


async def test_replies_are_logged_to_their_campaign_however_they_were_matched(api: Api) -> None:
    enrollment_id, message_id = await enroll_and_wait_for_first_email(api)
    campaign_id = (await api.call("GET", f"/enrollments/{enrollment_id}")).json()["campaign_id"]
    fresh = (  # a new thread from her address: matched by the sender
        "From: Ada <ada@example.com>\r\nTo: rep@seller.test\r\nSubject: A question\r\n"
        "Message-ID: <fresh1@example.com>\r\n\r\nCan we talk on Tuesday instead?\r\n"
    )
    item = await processed(api, (await post_mail(api, fresh)).json()["id"])
    assert (item["label"], item["matched_by"]) == ("human_reply", "sender")
    await enrollment_when(api, enrollment_id, lambda r: r["status"] != "active")
    (logged_reply,) = logged(ActivityKind.reply_email)
    assert (logged_reply.enrollment_id, logged_reply.campaign_id) == (enrollment_id, campaign_id)
    assert logged_reply.details["message_id"] == message_id  # the email it answers
    assert logged_reply.details["campaign_name"] == "API test"
    assert logged_reply.details["step_id"] == "intro"
    with Session(get_engine()) as session:
        person = session.exec(select(Person).where(Person.email == "ada@example.com")).one()
    task = task_fields(logged_reply, person, DEFAULT_SUBJECT_TEMPLATE)
    assert task["Subject"] == "Reply: A question" and task["Type"] == "Reply"
    assert (task["Cadence_Campaign__c"], task["Cadence_Step__c"]) == ("API test", "intro")


async def test_out_of_office_pauses_until_the_return_date_and_never_ends(api: Api) -> None:
    enrollment_id, message_id = await enroll_and_wait_for_first_email(api, PAUSING)
    back = utcnow().date() + timedelta(days=10)  # within the playbook's 21-day limit
    ooo = reply(
        message_id,
        subject="Automatic reply: Hello Ada",
        headers="Auto-Submitted: auto-replied\r\n",
        body=f"I am out of the office and will be back on {back:%B} {back.day}, {back.year}.",
    )
    accepted = await post_mail(api, ooo)
    item = await processed(api, accepted.json()["id"])
    assert item["label"] == "auto_reply" and item["return_date"] == back.isoformat()
    row = await enrollment_when(api, enrollment_id, lambda r: r["live"]["status"] == "paused")
    assert row["status"] == "paused" and row["live"]["status"] == "paused"  # not ended
    assert back.isoformat() in (row["live"]["pause_note"] or "")
    assert logged(ActivityKind.reply_email) == []  # an auto-reply is not a reply


def bounce(message_id: str, status: str, diagnostic: str) -> str:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.seller.test>\r\nTo: rep@seller.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n"
        f"Date: {format_datetime(utcnow())}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your "
        "message could not be delivered to one or more recipients.\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.seller.test\r\n\r\n"
        f"Final-Recipient: rfc822; ada@example.com\r\nAction: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: rep@seller.test\r\n"
        f"To: ada@example.com\r\nSubject: Hello Ada\r\nMessage-ID: {message_id}\r\n\r\n--B--\r\n"
    )


async def test_a_hard_bounce_ends_it_and_marks_the_address_dead_everywhere(api: Api) -> None:
    enrollment_id, message_id = await enroll_and_wait_for_first_email(api)
    dsn = bounce(message_id, "5.1.1", "550 5.1.1 <ada@example.com>: Recipient address rejected:"
                 " User unknown in virtual mailbox table")  # fmt: skip
    item = await processed(api, (await post_mail(api, dsn)).json()["id"])
    assert item["label"] == "bounce_hard" and item["status_code"] == "5.1.1"
    assert item["failed_recipient"] == "ada@example.com" and item["matched_by"] == "thread"
    row = await enrollment_when(api, enrollment_id, lambda r: r["status"] != "active")
    assert row["end_reason"] == "bounced"
    bounced = logged(ActivityKind.email_bounced)
    assert len(bounced) == 1 and bounced[0].details["category"] == "hard"
    assert bounced[0].details["status"] == "5.1.1"
    with Session(get_engine()) as session:
        assert session.get(InvalidAddress, "ada@example.com") is not None
    # Another campaign: the send is skipped, nothing reaches the dead address.
    created = await api.call("POST", "/campaigns", role="author",
                             content=PLAYBOOK.replace("API test", "Second"),
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    url = f"/campaigns/{created.json()['id']}/enrollments"
    second = await api.call("POST", url, role="rep", json={"emails": ["ada@example.com"]})
    second_id = second.json()["results"][0]["enrollment_id"]
    ended = await enrollment_when(api, second_id, lambda r: r["status"] != "active")
    assert ended["end_reason"] == "bounced"
    async with httpx.AsyncClient(base_url=api.sink) as sink:
        assert (await sink.get("/api/messages", params={"to": "ada@example.com"})).json()[
            "count"
        ] == 1


async def test_a_soft_bounce_is_logged_and_the_cadence_goes_on(api: Api) -> None:
    enrollment_id, message_id = await enroll_and_wait_for_first_email(api)
    dsn = bounce(message_id, "5.2.2", "552 5.2.2 <ada@example.com>: Mailbox full, over quota")
    item = await processed(api, (await post_mail(api, dsn)).json()["id"])
    assert item["label"] == "bounce_soft" and item["reason"] == "mailboxfull"
    bounced = logged(ActivityKind.email_bounced)
    assert [b.details["category"] for b in bounced] == ["soft"]
    await asyncio.sleep(0.3)
    row = (await api.call("GET", f"/enrollments/{enrollment_id}")).json()
    assert row["status"] == "active"
    with Session(get_engine()) as session:
        assert session.exec(select(InvalidAddress)).all() == []


# Soft bounces that add up: (status, Diagnostic-Code with a {n} to tell them apart, reason)
MAILBOX_FULL = ("4.2.2", "452 4.2.2 <ada@example.com>: Mailbox full ({n})", "mailboxfull")
# "user unknown" relayed with no 5.1.1 and no SMTP command: soft, as sisimai reads it
UNPROVEN_UNKNOWN = ("5.0.0", "550 <ada@example.com> No such user here ({n})", "filtered")


async def soft_bounces(
    api: Api, message_id: str, count: int, first: int = 0, kind: tuple[str, str, str] = MAILBOX_FULL
) -> list[int]:
    """Post `count` distinct soft bounces of `kind` for Ada, numbered from `first` (the same
    text twice in one second is one message to the intake); return their inbound ids."""
    status, diagnostic, reason = kind
    ids = []
    for n in range(first, first + count):
        dsn = bounce(message_id, status, diagnostic.format(n=n))
        item = await processed(api, (await post_mail(api, dsn)).json()["id"])
        assert item["label"] == "bounce_soft" and item["reason"] == reason
        ids.append(item["id"])
    return ids


@pytest.mark.parametrize("kind", [MAILBOX_FULL, UNPROVEN_UNKNOWN], ids=["full", "unknown"])
async def test_a_third_soft_bounce_within_30_days_ends_it_like_a_hard_one(
    api: Api, kind: tuple[str, str, str]
) -> None:
    enrollment_id, message_id = await enroll_and_wait_for_first_email(api)
    await soft_bounces(api, message_id, 2, kind=kind)
    await asyncio.sleep(0.3)
    assert (await api.call("GET", f"/enrollments/{enrollment_id}")).json()["status"] == "active"
    (third,) = await soft_bounces(api, message_id, 1, first=2, kind=kind)
    row = await enrollment_when(api, enrollment_id, lambda r: r["status"] != "active")
    assert row["end_reason"] == "bounced"
    with Session(get_engine()) as session:
        dead = session.get(InvalidAddress, "ada@example.com")
        assert dead is not None and dead.inbound_id == third
        assert dead.reason == f"repeated soft bounces: {kind[2]}"
    assert [b.details["category"] for b in logged(ActivityKind.email_bounced)] == [
        "soft", "soft", "hard"
    ]  # fmt: skip


async def test_soft_bounces_spread_over_more_than_30_days_do_not_add_up(api: Api) -> None:
    enrollment_id, message_id = await enroll_and_wait_for_first_email(api)
    first, second = await soft_bounces(api, message_id, 2)
    with Session(get_engine()) as session:  # the first two came in 40 and 31 days ago
        for inbound_id, days in ((first, 40), (second, 31)):
            row = session.get(InboundMessage, inbound_id)
            assert row is not None
            row.received_at = row.received_at - timedelta(days=days)
            session.add(row)
        session.commit()
    dsn = bounce(message_id, "4.2.2", "452 4.2.2 <ada@example.com>: Mailbox full (third)")
    await processed(api, (await post_mail(api, dsn)).json()["id"])
    await asyncio.sleep(0.3)
    assert (await api.call("GET", f"/enrollments/{enrollment_id}")).json()["status"] == "active"
    with Session(get_engine()) as session:
        assert session.exec(select(InvalidAddress)).all() == []


async def test_an_unsubscribe_request_in_words_stops_everything(api: Api) -> None:
    enrollment_id, message_id = await enroll_and_wait_for_first_email(api)
    words = reply(message_id, body="Please remove me from your mailing list.")
    item = await processed(api, (await post_mail(api, words)).json()["id"])
    assert item["label"] == "unsubscribe"
    row = await enrollment_when(api, enrollment_id, lambda r: r["status"] != "active")
    assert row["end_reason"] == "unsubscribed"
    with Session(get_engine()) as session:
        assert session.exec(select(Person)).one().unsubscribed
    assert [a.details["via"] for a in logged(ActivityKind.unsubscribe)] == ["email"]


def opt_out_report(message_id: str) -> str:
    """Apple Mail's one-click unsubscribe, sent as an RFC 5965 feedback report."""
    return (
        "From: Ada <ada@example.com>\r\nTo: unsubscribe@seller.test\r\n"
        "Subject: Unsubscribe request\r\nMIME-Version: 1.0\r\n"
        f"Date: {format_datetime(utcnow())}\r\nMessage-ID: <arf-1@icloud.example>\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="F"\r\n\r\n'
        "--F\r\nContent-Type: text/plain\r\n\r\nThis is an opt-out request.\r\n\r\n"
        "--F\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: opt-out\r\n"
        "User-Agent: Apple Mail\r\nVersion: 1\r\n\r\n"
        "--F\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: rep@seller.test\r\n"
        f"To: ada@example.com\r\nSubject: Hello Ada\r\nMessage-ID: {message_id}\r\n\r\n--F--\r\n"
    )


async def test_an_opt_out_report_unsubscribes_through_the_returned_message(api: Api) -> None:
    enrollment_id, message_id = await enroll_and_wait_for_first_email(api)
    item = await processed(api, (await post_mail(api, opt_out_report(message_id))).json()["id"])
    assert (item["label"], item["matched_by"]) == ("unsubscribe", "thread")
    row = await enrollment_when(api, enrollment_id, lambda r: r["status"] != "active")
    assert row["end_reason"] == "unsubscribed"
    with Session(get_engine()) as session:
        assert session.exec(select(Person)).one().unsubscribed


async def test_an_address_no_longer_in_use_is_treated_as_dead(api: Api) -> None:
    enrollment_id, message_id = await enroll_and_wait_for_first_email(api)
    notice = reply(
        message_id,
        subject="Automatic reply: Hello Ada",
        headers="Auto-Submitted: auto-replied\r\n",
        body="This mailbox is no longer in use. Please write to info@example.com instead.",
    )
    item = await processed(api, (await post_mail(api, notice)).json()["id"])
    assert item["label"] == "auto_reply" and item["return_date"] is None
    row = await enrollment_when(api, enrollment_id, lambda r: r["status"] != "active")
    assert row["end_reason"] == "bounced"
    assert [b.details["category"] for b in logged(ActivityKind.email_bounced)] == ["hard"]
    with Session(get_engine()) as session:
        assert session.get(InvalidAddress, "ada@example.com") is not None


async def test_unmatched_mail_is_kept_and_listed(api: Api) -> None:
    stranger = (
        "From: Bob <bob@nowhere.example>\r\nTo: rep@seller.test\r\nSubject: Hi\r\n"
        "Message-ID: <b1@nowhere.example>\r\n\r\nWho are you?\r\n"
    )
    item = await processed(api, (await post_mail(api, stranger)).json()["id"])
    assert item["person_id"] is None and item["matched_by"] is None
    assert item["label"] == "human_reply"
    listed = (await api.call("GET", "/inbound", params={"matched": "false"})).json()
    assert listed["total"] == 1 and listed["items"][0]["sender"] == "bob@nowhere.example"
    assert (await api.call("GET", "/inbound", params={"matched": "true"})).json()["total"] == 0
    assert (await api.http.get("/inbound")).status_code == 401  # reading needs a user token
    # A rep sees the mail that came to their own address, not everybody's.
    assert (await api.call("GET", "/inbound", role="rep")).json()["total"] == 0
    hidden = await api.call("GET", f"/inbound/{item['id']}", role="rep")
    assert hidden.status_code == 404
    to_rep = stranger.replace("<b1@", "<b2@")
    mine = (await post_mail(api, to_rep, mailbox="Rep@seller.test")).json()["id"]
    listed = (await api.call("GET", "/inbound", role="rep")).json()
    assert [i["id"] for i in listed["items"]] == [mine]
    raw = await api.call("GET", f"/inbound/{mine}/raw", role="rep")
    assert raw.status_code == 200 and raw.content == to_rep.encode()


async def test_the_sink_hands_replies_to_our_mailboxes_to_the_intake(
    api: Api, tmp_path: Path
) -> None:
    """A person answers through the local SMTP server: mail to a user reaches the intake,
    mail between strangers and our own sending do not."""
    enrollment_id, message_id = await enroll_and_wait_for_first_email(api)
    from api.main import create_app

    app = create_app()
    app.state.temporal, app.state.temporal_lock = api.temporal, asyncio.Lock()
    smtp_port, http_port = free_port(), free_port()
    sink = asyncio.create_task(
        serve(tmp_path / "box", smtp_port, http_port, inbound_api="http://api",
              inbound_token=TOKEN, inbound_transport=httpx.ASGITransport(app=app))
    )  # fmt: skip
    try:

        def probe() -> None:
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=5):
                pass

        for _ in range(100):  # the sink runs on this loop: SMTP goes through a thread
            try:
                await asyncio.to_thread(probe)
                break
            except OSError:
                await asyncio.sleep(0.05)

        def send(mail_from: str, to: str, raw: str) -> None:
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
                smtp.sendmail(mail_from, [to], raw.encode())

        strangers = "From: bob@nowhere.example\r\nSubject: x\r\n\r\nnot ours\r\n"
        await asyncio.to_thread(send, "bob@nowhere.example", "carol@elsewhere.example", strangers)
        colleagues = "From: rep@seller.test\r\nSubject: y\r\n\r\nours to ours\r\n"
        await asyncio.to_thread(send, "rep@seller.test", "admin@seller.test", colleagues)
        await asyncio.to_thread(send, "ada@example.com", "rep@seller.test", reply(message_id))
        row = await enrollment_when(api, enrollment_id, lambda r: r["status"] != "active")
        assert row["end_reason"] == "replied"
        listed = (await api.call("GET", "/inbound")).json()
        assert [i["mailbox"] for i in listed["items"]] == ["rep@seller.test"]
        assert listed["items"][0]["source"] == "api"
    finally:
        sink.cancel()
        await asyncio.gather(sink, return_exceptions=True)
