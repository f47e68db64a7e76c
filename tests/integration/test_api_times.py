"""Every time the API returns is an instant with its offset (ISO 8601), and the right one:
for each route that returns times, against a pinned instant or the workflow's own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import Session, select

from cadence.core.config import get_settings
from cadence.core.db import alembic_config, get_engine
from cadence.core.models import (
    ActivityKind,
    ActivityLog,
    Attachment,
    BlockedDomain,
    Campaign,
    CampaignVersion,
    EmailMessage,
    Enrollment,
    EnrollmentStatus,
    InboundMessage,
    Person,
    Task,
    TaskStatus,
    User,
)
from cadence.services.activity_log import record_activity
from tests.utils.api import Api, unique_person_id
from tests.utils.inbound import TOKEN, enroll_and_wait_for_first_email, post_mail, processed

NY = ZoneInfo("America/New_York")
# The example: a New York call task due at 22:32:52 local time, 03:32:52 UTC.
PINNED = datetime(2026, 12, 4, 22, 32, 52, tzinfo=NY)
TIME_KEYS = frozenset(
    {"created_at", "updated_at", "ended_at", "due_at", "closed_at", "sent_at", "received_at",
     "processed_at", "occurred_at", "next_due_at", "paused_at", "resumes_at", "at"}
)  # fmt: skip


def instant(text: str) -> datetime:
    """An ISO 8601 time from the API; it must carry its offset."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, f"{text} has no offset"
    return value


def times_in(body: Any) -> list[str]:
    """Every time in a response body, wherever it sits."""
    if isinstance(body, dict):
        found = [v for k, v in body.items() if k in TIME_KEYS and isinstance(v, str)]
        return found + [t for v in body.values() for t in times_in(v)]
    if isinstance(body, list):
        return [t for v in body for t in times_in(v)]
    return []


def assert_instants(body: Any) -> None:
    found = times_in(body)
    assert found, f"no times in {body}"
    for text in found:
        instant(text)


def _seed() -> dict[str, Any]:
    """One row of everything the API lists, each time the pinned instant as New York local
    time (as the calendar hands it over)."""
    with Session(get_engine()) as session:
        admin = session.exec(select(User).where(User.email == "admin@seller.test")).one()
        person = Person(id=unique_person_id(), email="grace@example.com",
                        timezone="America/New_York", updated_at=PINNED)  # fmt: skip
        campaign = Campaign(name="Times", created_by=admin.id, created_at=PINNED)
        session.add_all([person, campaign])
        session.flush()
        assert person.id is not None and campaign.id is not None and admin.id is not None
        enrollment = Enrollment(
            campaign_id=campaign.id, campaign_version=1, person_id=person.id, owner_id=admin.id,
            workflow_id=f"enrollment/{campaign.id}/{person.id}",
            status=EnrollmentStatus.completed, created_at=PINNED, ended_at=PINNED,
        )  # fmt: skip
        version = CampaignVersion(campaign_id=campaign.id, version=1, source_yaml="",
                                  playbook={"name": "Times", "steps": []})  # fmt: skip
        session.add_all([enrollment, version])
        session.flush()
        assert enrollment.id is not None
        message_id = "<times@seller.test>"
        inbound = InboundMessage(
            sha256="times", source="api", sender="grace@example.com", subject="Re: Times",
            raw=b"Subject: Re: Times\r\n\r\nYes", received_at=PINNED, processed_at=PINNED,
            label="human_reply", person_id=person.id,
        )  # fmt: skip
        attachment = Attachment(filename="a.txt", content_type="text/plain", size=1, sha256="x",
                                data=b"x", owner_id=admin.id, created_at=PINNED)  # fmt: skip
        session.add_all([
            Task(key="times/call", enrollment_id=enrollment.id, workflow_id=enrollment.workflow_id,
                 step_id="call", type="call", title="Call Grace", person_id=person.id,
                 owner_id=admin.id, due_at=PINNED, status=TaskStatus.completed, closed_at=PINNED),
            EmailMessage(message_id=message_id, enrollment_id=enrollment.id, step_id="intro",
                         person_id=person.id, sender="admin@seller.test",
                         recipient="grace@example.com", subject="Times", body_text="Hi",
                         status="sent", sent_at=PINNED),
            BlockedDomain(domain="competitor.example", created_by=admin.id, created_at=PINNED),
            inbound, attachment,
        ])  # fmt: skip
        record_activity(session, key="times/call", kind=ActivityKind.call, person_id=person.id,
                        campaign_id=campaign.id, enrollment_id=enrollment.id,
                        occurred_at=PINNED)  # fmt: skip
        session.commit()
        return {"person": person.id, "campaign": campaign.id, "enrollment": enrollment.id,
                "message": quote(message_id), "inbound": inbound.id,
                "attachment": attachment.id}  # fmt: skip


ROUTES = [
    "/people", "/people/{person}", "/campaigns", "/campaigns/{campaign}",
    "/campaigns/{campaign}/enrollments", "/enrollments/{enrollment}", "/tasks?status=completed",
    "/emails", "/emails/{message}", "/inbound", "/inbound/{inbound}", "/activities",
    "/admin/blocked-domains", "/attachments/{attachment}",
]  # fmt: skip


@pytest.mark.parametrize("route", ROUTES)
async def test_each_route_returns_the_instant_that_was_stored(api: Api, route: str) -> None:
    ids = _seed()
    response = await api.call("GET", route.format(**ids))
    assert response.status_code == 200, response.text
    body = response.json()
    if route == "/people":
        body = [p for p in body if p["id"] == ids["person"]]
    found = times_in(body)
    assert found, f"{route} returned no times: {body}"
    for text in found:
        assert instant(text) == PINNED, f"{route}: {text} is not {PINNED.astimezone(UTC)}"


async def wait_for(api: Api, url: str, ready: Callable[[Any], bool]) -> Any:
    body: Any = None
    for _ in range(300):
        body = (await api.call("GET", url)).json()
        if ready(body):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url}: {body}")


TASKS = """\
name: Every task, west of UTC or east of it
settings: {skip_weekends: false, holidays: "off", default_send_time: "00:00",
           send_window: {start: "00:00", end: "23:59"}}
steps:
  - {id: intro, day: 1, type: auto_email, send_at: immediately, subject: Hi, body: Hello}
  - {id: call, day: 1, type: call, title: "Call {{first_name}}"}
  - {id: note, day: 1, type: manual_email, thread: true, body: Thanks for your time.}
  - {id: ping, day: 1, type: linkedin, title: Connect}
  - {id: later, day: 3, type: auto_email, subject: Again, body: Hello again}
  - {id: last, day: 5, type: auto_email, subject: Last, body: Bye}
"""


async def test_the_enrollment_and_task_routes_give_the_workflows_instants(api: Api) -> None:
    """A lead in New York (or Los Angeles, or Tokyo: where it is not near midnight, when the
    test's all-day send window closes for a minute): each task is due when the enrollment
    says, not at its local clock time labelled UTC, and every route that answers with the
    enrollment's state gives instants."""
    zone = next(z for z in ("America/New_York", "America/Los_Angeles", "Asia/Tokyo")
                if 1 <= datetime.now(ZoneInfo(z)).hour <= 21)  # fmt: skip
    with Session(get_engine()) as session:
        ada = session.exec(select(Person).where(Person.email == "ada@example.com")).one()
        ada.timezone = zone
        session.add(ada)
        session.commit()
    before = datetime.now(UTC)
    created = await api.call("POST", "/campaigns", role="author", content=TASKS,
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert before <= instant(created.json()["created_at"]) <= datetime.now(UTC)
    enrolled = await api.call("POST", f"/campaigns/{created.json()['id']}/enrollments",
                              role="rep", json={"emails": ["ada@example.com"]})  # fmt: skip
    enrollment = f"/enrollments/{enrolled.json()['results'][0]['enrollment_id']}"

    async def open_task(step_id: str) -> dict[str, Any]:
        tasks = await wait_for(api, "/tasks", lambda b: any(t["step_id"] == step_id for t in b))
        task: dict[str, Any] = next(t for t in tasks if t["step_id"] == step_id)
        timeline = (await api.call("GET", f"{enrollment}/timeline")).json()
        assert_instants(timeline)
        planned = next(e for e in timeline if e["step_id"] == step_id)
        assert planned["status"] == "task_open"
        assert instant(task["due_at"]) == instant(planned["at"])  # the workflow's instant
        return task

    call = await open_task("call")
    emails = (await api.call("GET", "/emails")).json()
    intro_sent = instant(next(e for e in emails if e["step_id"] == "intro")["sent_at"])
    assert abs(instant(call["due_at"]) - intro_sent) < timedelta(minutes=2)  # due at once
    done = await api.call("POST", f"/tasks/{call['id']}/complete", role="rep",
                          json={"outcome": "connected"})  # fmt: skip
    assert done.status_code == 200, done.text
    assert_instants(done.json())
    note = await open_task("note")
    sent = await api.call("POST", f"/tasks/{note['id']}/send", role="rep", json={})
    assert sent.status_code == 200, sent.text
    assert_instants(sent.json())
    ping = await open_task("ping")
    skipped = await api.call("POST", f"/tasks/{ping['id']}/skip", role="rep")
    assert skipped.status_code == 200, skipped.text
    assert_instants(skipped.json())

    await wait_for(api, enrollment, lambda b: b["live"]["current_step"] == "later")
    day = datetime.now(ZoneInfo(zone)).date() + timedelta(days=2)
    moved_to = datetime.combine(day, time(10, 30), ZoneInfo(zone))
    moved = await api.call("POST", f"{enrollment}/reschedule", role="rep",
                           json={"step_id": "later", "at": moved_to.isoformat()})  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert instant(moved.json()["next_due_at"]) == moved_to
    live = (await api.call("GET", enrollment)).json()
    assert_instants(live)
    assert instant(live["live"]["next_due_at"]) == moved_to
    planned = (await api.call("GET", f"{enrollment}/timeline")).json()
    assert instant(next(e for e in planned if e["step_id"] == "later")["at"]) == moved_to

    before = datetime.now(UTC)
    paused = await api.call("POST", f"{enrollment}/pause", role="rep")
    assert paused.status_code == 200, paused.text
    assert (
        before - timedelta(seconds=5)
        <= instant(paused.json()["paused_at"])
        <= (datetime.now(UTC) + timedelta(seconds=5))
    )
    resumed = await api.call("POST", f"{enrollment}/resume", role="rep")
    assert resumed.status_code == 200, resumed.text
    assert_instants(resumed.json())
    skip = await api.call("POST", f"{enrollment}/skip-step", role="rep", json={"step_id": "later"})
    assert skip.status_code == 200, skip.text
    assert_instants(skip.json())
    success = await api.call("POST", f"{enrollment}/mark-success", role="rep")
    assert success.status_code == 200, success.text
    assert_instants(success.json())


async def test_a_reply_is_logged_at_the_instant_its_date_names(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Date field's offset is kept: 22:32:52 -0500 is 03:32:52 UTC."""
    monkeypatch.setenv("CADENCE_INBOUND_TOKEN", TOKEN)
    get_settings.cache_clear()
    _, message_id = await enroll_and_wait_for_first_email(api)
    raw = (
        f"From: Ada <ada@example.com>\r\nTo: rep@seller.test\r\nSubject: Re: Hello Ada\r\n"
        f"Date: Fri, 04 Dec 2026 22:32:52 -0500\r\nMessage-ID: <times-reply@mail.example>\r\n"
        f"In-Reply-To: {message_id}\r\nContent-Type: text/plain\r\n\r\nYes, call me.\r\n"
    )
    accepted = await post_mail(api, raw)
    assert accepted.status_code == 202, accepted.text
    await processed(api, accepted.json()["id"])
    replies = (await api.call("GET", "/activities?kind=reply_email")).json()
    assert [instant(r["occurred_at"]) for r in replies] == [PINNED]


OLD_ROWS = (
    'INSERT INTO "user" (id, name, email, role, is_active, created_at) '
    "VALUES (1, 'Rita', 'rita@seller.test', 'rep', 1, :now)",
    "INSERT INTO person (id, email, timezone, unsubscribed, created_at, updated_at) "
    "VALUES (1, 'grace@example.com', 'America/New_York', 0, :now, :now)",
)


def test_times_written_before_0013_become_the_instants_they_named(tmp_path: Path) -> None:
    """SQLite kept a New York task's due time, and a reply's Date, as a bare local clock
    time; the migration turns them into the UTC instants."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0011")
    local_clock = PINNED.replace(tzinfo=None)  # what the earlier code left in the row
    with Session(get_engine(url)) as session:
        # The user and the person as the tables were then (they have columns since).
        now = {"now": datetime.now(UTC).replace(tzinfo=None)}
        for insert in OLD_ROWS:
            session.execute(sa.text(insert), now)
        owner_id = person_id = 1
        campaign = Campaign(name="Old")
        session.add(campaign)
        session.flush()
        assert campaign.id is not None
        enrollment = Enrollment(campaign_id=campaign.id, campaign_version=1, person_id=person_id,
                                owner_id=owner_id, workflow_id="enrollment/1/1")  # fmt: skip
        version = CampaignVersion(campaign_id=campaign.id, version=1, source_yaml="",
                                  playbook={"settings": {"timezone": "Europe/Berlin"}})  # fmt: skip
        raw = b"Date: Fri, 04 Dec 2026 22:32:52 -0500\r\nSubject: Re: Hi\r\n\r\nYes\r\n"
        inbound = InboundMessage(sha256="old", source="api", sender="grace@example.com",
                                 subject="Re: Hi", raw=raw)  # fmt: skip
        session.add_all([enrollment, version, inbound])
        session.flush()
        assert enrollment.id is not None
        session.add(Task(key="old/call", enrollment_id=enrollment.id, workflow_id="enrollment/1/1",
                         step_id="call", type="call", title="Call", person_id=person_id,
                         owner_id=owner_id, due_at=local_clock))  # fmt: skip
        record_activity(session, key=f"inbound/{inbound.id}/reply", kind=ActivityKind.reply_email,
                        person_id=person_id, occurred_at=local_clock)  # fmt: skip
        session.commit()
    command.upgrade(alembic_config(url), "head")
    with Session(get_engine(url)) as session:
        assert session.exec(select(Task)).one().due_at == PINNED  # the lead's zone, not Berlin
        assert session.exec(select(ActivityLog)).one().occurred_at == PINNED
    get_engine(url).dispose()
