"""One-off and group sales email (POST /emails): personalised per recipient, Cc and Bcc,
attachments (23 MB per email), non-commercial mail, idempotent requests, and clear errors
that send nothing."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage as MimeMessage
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from cadence.core.config import get_settings
from cadence.core.db import get_engine
from cadence.core.models import MAX_ATTACHMENTS_BYTES, Person
from tests.utils.api import Api, unique_person_id


@pytest.fixture(autouse=True)
def tracking(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CADENCE_TRACKING_SECRET", "test-secret-for-links")
    monkeypatch.setenv("CADENCE_PUBLIC_BASE_URL", "https://cadence.example.com")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def add_people(*people: tuple[str, str, bool]) -> list[int]:
    """(email, first name, unsubscribed) -> ids."""
    rows = [
        Person(id=unique_person_id(), email=e, first_name=n, company="Acme", unsubscribed=u)
        for e, n, u in people
    ]
    with Session(get_engine()) as session:
        session.add_all(rows)
        session.commit()
        return [r.id or 0 for r in rows]


async def finished(api: Api, request_id: str) -> dict[str, Any]:
    for _ in range(200):
        state = await api.call("GET", f"/emails/requests/{request_id}", role="rep")
        assert state.status_code == 200, state.text
        if state.json()["status"] == "completed":
            return dict(state.json())
        await asyncio.sleep(0.1)
    raise AssertionError(f"request {request_id} did not finish")


async def in_sink(api: Api, message_id: str) -> MimeMessage:
    async with httpx.AsyncClient(base_url=api.sink) as sink:
        found = (await sink.get("/api/messages", params={"message_id": message_id})).json()
        assert found["count"] == 1, found
        raw = await sink.get(f"/api/messages/{found['messages'][0]['id']}/raw")
    msg = email.message_from_bytes(raw.content, policy=email.policy.default)
    assert isinstance(msg, MimeMessage)
    return msg


async def upload(api: Api, name: str, data: bytes, kind: str = "application/pdf") -> int:
    done = await api.call("POST", "/attachments", role="rep", params={"filename": name},
                          content=data, headers={"Content-Type": kind})  # fmt: skip
    assert done.status_code == 201, done.text
    assert done.json()["size"] == len(data)
    return int(done.json()["id"])


async def test_a_one_off_email_with_cc_bcc_and_an_attachment(api: Api) -> None:
    (ada,) = add_people(("ada.l@example.com", "Ada", False))
    pdf = b"%PDF-1.4 proposal " * 1000
    attachment = await upload(api, "Angebot Größe.pdf", pdf)
    sent = await api.call("POST", "/emails", role="rep", json={
        "person_ids": [ada], "subject": "Proposal for {{company}}",
        "body": "Hi {{first_name}}, the proposal is attached.",
        "cc": ["ae@seller.example"], "bcc": ["crm@seller.example"],
        "attachment_ids": [attachment], "template": "Proposal follow-up",
    })  # fmt: skip
    assert sent.status_code == 202, sent.text
    request = sent.json()
    assert [m["email"] for m in request["messages"]] == ["ada.l@example.com"]
    state = await finished(api, request["request_id"])
    (message,) = state["messages"]
    assert message["status"] == "sent"
    assert message["message_id"] == request["messages"][0]["message_id"]

    msg = await in_sink(api, message["message_id"])
    assert msg["Subject"] == "Proposal for Acme"
    assert msg["To"] == "ada.l@example.com" and msg["Cc"] == "ae@seller.example"
    assert "Bcc" not in msg  # a blind copy never shows
    assert (
        "crm@seller.example" in msg["X-Sink-Rcpt-To"]
        and "ae@seller.example" in msg["X-Sink-Rcpt-To"]
    )
    (part,) = list(msg.iter_attachments())
    assert part.get_filename() == "Angebot Größe.pdf"
    assert part.get_content_type() == "application/pdf" and part.get_content() == pdf
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None and "Hi Ada, the proposal is attached." in body.get_content()
    assert "List-Unsubscribe" in msg  # commercial by default

    tab = await api.call("GET", f"/emails/{message['message_id']}", role="rep")
    assert tab.status_code == 200
    shown = tab.json()
    assert (shown["template"], shown["cc"], shown["bcc"], shown["attachment_ids"]) == (
        "Proposal follow-up", ["ae@seller.example"], ["crm@seller.example"], [attachment]
    )  # fmt: skip
    assert shown["campaign"] is None and shown["status"] == "sent"


async def test_a_group_email_is_personalised_guarded_and_idempotent(api: Api) -> None:
    ids = add_people(("g1@example.com", "Grace", False), ("g2@example.com", "Alan", False),
                     ("g3@example.com", "Edsger", True))  # fmt: skip
    payload = {"person_ids": ids, "subject": "Hi {{first_name}}", "body": "Hello {{first_name}}"}
    key = {"Idempotency-Key": "launch-42"}
    first = await api.call("POST", "/emails", role="rep", json=payload, headers=key)
    assert first.status_code == 202, first.text
    state = await finished(api, first.json()["request_id"])
    outcome = {m["email"]: (m["status"], m["guard"]) for m in state["messages"]}
    assert outcome == {
        "g1@example.com": ("sent", None),
        "g2@example.com": ("sent", None),
        "g3@example.com": ("skipped", "unsubscribed"),
    }
    for message in state["messages"][:2]:
        msg = await in_sink(api, message["message_id"])
        assert msg["Subject"] == f"Hi {'Grace' if msg['To'] == 'g1@example.com' else 'Alan'}"

    again = await api.call("POST", "/emails", role="rep", json=payload, headers=key)
    assert again.status_code == 202
    assert again.json()["request_id"] == first.json()["request_id"]
    await finished(api, again.json()["request_id"])
    async with httpx.AsyncClient(base_url=api.sink) as sink:
        for address in ("g1@example.com", "g2@example.com", "g3@example.com"):
            found = (await sink.get("/api/messages", params={"to": address})).json()
            assert found["count"] == (0 if address == "g3@example.com" else 1)

    other = await api.call("GET", f"/emails/requests/{first.json()['request_id']}", role="author")
    assert other.status_code == 403  # authors send no email


async def test_non_commercial_mail_skips_the_unsubscribe_footer_and_check(api: Api) -> None:
    (ida,) = add_people(("ida@example.com", "Ida", True))
    sent = await api.call("POST", "/emails", role="rep", json={
        "person_ids": [ida], "subject": "Your invoice", "body": "Invoice 7 is paid.",
        "non_commercial": True,
    })  # fmt: skip
    state = await finished(api, sent.json()["request_id"])
    assert state["messages"][0]["status"] == "sent"
    msg = await in_sink(api, state["messages"][0]["message_id"])
    assert "List-Unsubscribe" not in msg and "List-Unsubscribe-Post" not in msg
    text = msg.get_body(preferencelist=("plain",))
    assert text is not None and "stop receiving" not in text.get_content()


async def test_bad_requests_say_what_is_wrong_and_send_nothing(api: Api) -> None:
    (bea,) = add_people(("bea@example.com", "Bea", False))
    good = {"person_ids": [bea], "subject": "Hi", "body": "Hello"}

    async def post(**changes: Any) -> httpx.Response:
        return await api.call("POST", "/emails", role="rep", json={**good, **changes})

    unknown = await post(person_ids=[bea, 987654321987])
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == [
        {"loc": ["body", "person_ids", 1], "msg": "no such person", "type": "value_error"}
    ]
    field = await post(subject="Hi {{frist_name}}")
    assert field.status_code == 422 and field.json()["detail"][0]["loc"] == ["body", "subject"]
    assert "frist_name" in field.json()["detail"][0]["msg"]
    prompt = await post(body="Meet {{! name of AE}}")
    assert prompt.status_code == 422 and "prompt" in prompt.json()["detail"][0]["msg"]
    missing = await post(attachment_ids=[424242])
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "attachment_ids", 0]
    nobody = await post(person_ids=[])
    assert nobody.status_code == 422
    key = await api.call(
        "POST", "/emails", role="rep", json=good, headers={"Idempotency-Key": "a b"}
    )
    assert key.status_code == 422

    theirs = await api.call("POST", "/attachments", role="admin", params={"filename": "a.txt"},
                            content=b"admin's file")  # fmt: skip
    not_mine = await post(attachment_ids=[theirs.json()["id"]])
    assert not_mine.status_code == 422  # a rep cannot send an admin's upload

    half = MAX_ATTACHMENTS_BYTES // 2 + 1
    a, b = await upload(api, "a.bin", b"a" * half), await upload(api, "b.bin", b"b" * half)
    together = await post(attachment_ids=[a, b])
    assert together.status_code == 413 and "23 MB" in together.json()["detail"]

    big = await api.call("POST", "/attachments", role="rep", params={"filename": "huge.zip"},
                         content=b"z" * (MAX_ATTACHMENTS_BYTES + 1))  # fmt: skip
    assert big.status_code == 413 and "23 MB" in big.json()["detail"]
    empty = await api.call("POST", "/attachments", role="rep", params={"filename": "e.txt"},
                           content=b"")  # fmt: skip
    assert empty.status_code == 422
    sneaky = await api.call("POST", "/attachments", role="rep",
                            params={"filename": "../etc/passwd"}, content=b"x")  # fmt: skip
    assert sneaky.status_code == 422

    async with httpx.AsyncClient(base_url=api.sink) as sink:
        found = (await sink.get("/api/messages", params={"to": "bea@example.com"})).json()
    assert found["count"] == 0
