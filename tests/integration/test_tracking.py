"""Open pixel, click redirect and unsubscribe links: signed tokens, nothing written for forged
ones, activity-log records for real ones, and one-click unsubscribe that ends enrollments."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from cadence.core.config import get_settings
from cadence.core.db import get_engine
from cadence.core.models import ActivityKind, ActivityLog, Person
from cadence.services.tracking import sign
from tests.utils.api import Api
from tests.utils.factories import PLAYBOOK


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CADENCE_TRACKING_SECRET", "test-secret-for-links")
    monkeypatch.setenv("CADENCE_PUBLIC_BASE_URL", "https://cadence.example.com")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def person_id() -> int:
    with Session(get_engine()) as session:
        person = session.exec(select(Person)).one()
        assert person.id is not None
        return person.id


def logged(kind: ActivityKind) -> list[ActivityLog]:
    with Session(get_engine()) as session:
        return [a for a in session.exec(select(ActivityLog)).all() if a.kind == kind]


async def test_opens_and_clicks_are_logged_and_forged_tokens_write_nothing(api: Api) -> None:
    pid = person_id()
    base = {"m": "<m1@cadence.local>", "p": pid, "s": "Hello Ada"}
    pixel = await api.http.get(f"/t/o/{sign({'k': 'o', **base})}.gif")
    assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
    assert pixel.headers["cache-control"].startswith("no-store")
    url = "https://example.com/pricing?plan=team"
    clicked = await api.http.get(f"/t/c/{sign({'k': 'c', 'u': url, **base})}")
    assert clicked.status_code == 302 and clicked.headers["location"] == url

    real = sign({"k": "c", "u": url, **base})
    signature = real.split(".")[1]
    forged = [
        real[:-2] + ("AA" if not real.endswith("AA") else "BB"),  # signature altered
        sign({"k": "c", "u": "https://evil.example", **base}).split(".")[0] + "." + signature,
        "not-a-token",
        sign({"k": "o", **base}),  # an open token used as a click
    ]
    for token in forged:
        assert (await api.http.get(f"/t/c/{token}")).status_code == 404
    assert (await api.http.get("/t/o/garbage.gif")).status_code == 404
    ftp = sign({"k": "c", "u": "ftp://example.com/x", **base})
    assert (await api.http.get(f"/t/c/{ftp}")).status_code == 404

    assert len(logged(ActivityKind.open_email)) == 1
    clicks = logged(ActivityKind.click_email)
    assert [c.details["link"] for c in clicks] == [url]
    assert clicks[0].subject == "Hello Ada"


async def test_one_click_unsubscribe_ends_running_enrollments(api: Api) -> None:
    created = await api.call("POST", "/campaigns", role="author", content=PLAYBOOK,
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    url = f"/campaigns/{created.json()['id']}/enrollments"
    enrolled = (
        await api.call("POST", url, role="rep", json={"emails": ["ada@example.com"]})
    ).json()
    enrollment_id = enrolled["results"][0]["enrollment_id"]
    for _ in range(100):
        live = (await api.call("GET", f"/enrollments/{enrollment_id}")).json()["live"]
        if live and live["steps"]:
            break
        await asyncio.sleep(0.1)
    token = sign({"k": "u", "p": person_id(), "e": enrollment_id, "m": "<x@cadence.local>"})

    page = await api.http.get(f"/u/{token}")
    assert page.status_code == 200 and "<form method='post'>" in page.text
    assert not logged(ActivityKind.unsubscribe)  # looking is not unsubscribing

    one_click = await api.http.post(
        f"/u/{token}",
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200 and "You are unsubscribed" in one_click.text
    again = await api.http.post(f"/u/{token}")
    assert again.status_code == 200
    assert len(logged(ActivityKind.unsubscribe)) == 1
    with Session(get_engine()) as session:
        assert session.exec(select(Person)).one().unsubscribed
    for _ in range(100):
        row = (await api.call("GET", f"/enrollments/{enrollment_id}")).json()
        if row["status"] != "active":
            break
        await asyncio.sleep(0.1)
    assert row["status"] == "completed" and row["end_reason"] == "unsubscribed"
    forged = token[:-3] + "abc"
    assert (await api.http.post(f"/u/{forged}")).status_code == 404


LINKED = """\
name: Linked
settings: {skip_weekends: false, holidays: "off", send_window: {start: "00:00", end: "23:59"}}
steps:
  - {id: intro, day: 1, type: auto_email, send_at: immediately, subject: "Pricing for {{company}}",
     body: "Hi {{first_name}}, our plans: https://example.com/pricing?x=1 - see you."}
"""


async def test_sent_emails_carry_tracked_links_a_pixel_and_one_click_unsubscribe(api: Api) -> None:
    created = await api.call("POST", "/campaigns", role="author", content=LINKED,
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    url = f"/campaigns/{created.json()['id']}/enrollments"
    await api.call("POST", url, role="rep", json={"emails": ["ada@example.com"]})
    mail: dict[str, Any] = {"count": 0}
    async with httpx.AsyncClient(base_url=api.sink) as sink:
        for _ in range(100):
            mail = (await sink.get("/api/messages", params={"to": "ada@example.com"})).json()
            if mail["count"]:
                break
            await asyncio.sleep(0.1)
    message = mail["messages"][0]
    headers = message["headers"]
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = [h.strip("<> ") for h in headers["List-Unsubscribe"].split(",")]
    assert https.startswith("https://cadence.example.com/u/") and mailto.startswith("mailto:")
    assert f"To stop receiving these emails: {https}" in message["text"]
    assert "https://example.com/pricing?x=1" in message["text"]  # the text part stays plain

    page = message["html"]
    tracked = re.search(r'href="https://cadence\.example\.com(/t/c/[^"]+)"', page)
    pixel = re.search(r'src="https://cadence\.example\.com(/t/o/[^"]+)"', page)
    assert tracked and pixel
    clicked = await api.http.get(html.unescape(tracked.group(1)))
    assert clicked.status_code == 302
    assert clicked.headers["location"] == "https://example.com/pricing?x=1"
    assert (await api.http.get(html.unescape(pixel.group(1)))).status_code == 200
    clicks = logged(ActivityKind.click_email)
    assert clicks[0].details["message_id"] == message["message_id"]
    assert len(logged(ActivityKind.open_email)) == 1
    one_click = await api.http.post(https.removeprefix("https://cadence.example.com"))
    assert one_click.status_code == 200 and len(logged(ActivityKind.unsubscribe)) == 1

    # The Email tab: the rep sees the email, opened and clicked, not replied.
    tab = (await api.call("GET", "/emails", role="rep")).json()
    assert [(e["subject"], e["opened"], e["clicked"], e["replied"]) for e in tab] == [
        ("Pricing for Acme", True, True, False)
    ]
    assert tab[0]["campaign"] == "Linked" and tab[0]["sender"] == "rep@seller.test"
    one = await api.call("GET", f"/emails/{tab[0]['message_id']}", role="rep")
    assert one.json()["body_text"].startswith("Hi Ada, our plans: https://example.com/pricing")
    assert (await api.call("GET", "/emails", role="admin")).json()[0]["opened"] is True
