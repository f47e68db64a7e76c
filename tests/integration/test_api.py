"""The HTTP API against a real Temporal dev server, an in-process worker and the SMTP sink:
auth and roles, playbook errors with line and column, idempotent enrollment, live state."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlmodel import Session, col, select

from cadence.core.db import get_engine
from cadence.core.models import ActivityKind, ActivityLog, EmailMessage, Enrollment, Person
from tests.utils.api import Api
from tests.utils.factories import PLAYBOOK


async def test_health_is_open_everything_else_needs_a_token(api: Api) -> None:
    assert (await api.http.get("/health")).status_code == 200
    missing = await api.http.get("/campaigns")
    assert missing.status_code == 401 and "Bearer" in missing.json()["detail"]
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = await api.http.get("/campaigns", headers={"Authorization": "Bearer cad_nope"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "Invalid or revoked API token"
    me = await api.call("GET", "/users/me", role="rep")
    assert me.json()["role"] == "rep"


async def test_roles_decide_who_may_do_what(api: Api) -> None:
    as_rep = await api.call("POST", "/campaigns", role="rep", content=PLAYBOOK,
                            headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert as_rep.status_code == 403
    assert as_rep.json()["detail"] == "This action needs the role admin, author; your role is rep"
    as_author = await api.call("POST", "/campaigns", role="author", content=PLAYBOOK,
                               headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert as_author.status_code == 201
    enroll_as_author = await api.call(
        "POST", f"/campaigns/{as_author.json()['id']}/enrollments", role="author",
        json={"emails": ["ada@example.com"]},
    )  # fmt: skip
    assert enroll_as_author.status_code == 403
    new_user = {"name": "X", "email": "x@seller.test", "role": "admin"}
    users = await api.call("POST", "/users", role="rep", json=new_user)
    assert users.status_code == 403


async def test_a_bad_playbook_is_rejected_with_line_and_column(api: Api) -> None:
    broken = PLAYBOOK.replace("send_at: immediately", "send_at: soonish")
    resp = await api.call("POST", "/campaigns", role="author", content=broken,
                          headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert resp.status_code == 422
    issue = resp.json()["detail"][0]
    assert issue["line"] == broken.splitlines().index("    send_at: soonish") + 1
    assert issue["column"] == 14 and "send_at" in issue["loc"]
    listed = await api.call("GET", "/campaigns")
    assert listed.json() == []  # nothing half-written


async def test_enrolling_twice_starts_one_workflow_and_sends_one_email(api: Api) -> None:
    created = await api.call("POST", "/campaigns", role="author", content=PLAYBOOK,
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    campaign_id = created.json()["id"]
    url = f"/campaigns/{campaign_id}/enrollments"
    first, second = await asyncio.gather(
        api.call("POST", url, role="rep", json={"emails": ["ada@example.com"]}),
        api.call("POST", url, role="rep", json={"emails": ["ADA@example.com"]}),
    )
    assert first.status_code == second.status_code == 202
    results = [first.json()["results"][0], second.json()["results"][0]]
    assert sorted(r["result"] for r in results) == ["already_enrolled", "enrolled"]
    enrolled = next(r for r in results if r["result"] == "enrolled")
    assert enrolled["workflow_id"] == f"enrollment/{campaign_id}/{enrolled['person_id']}"

    state: dict[str, Any] = {}
    for _ in range(100):
        got = await api.call("GET", f"/enrollments/{enrolled['enrollment_id']}", role="rep")
        state = got.json()
        if state["live"] and state["live"]["steps"]:
            break
        await asyncio.sleep(0.1)
    assert state["created_at"].endswith("Z")  # times carry their zone
    live = state["live"]
    assert live["status"] == "active" and live["current_step"] == "later"
    assert [s["step_id"] for s in live["steps"]] == ["intro"]
    assert live["next_due_at"] is not None

    async with httpx.AsyncClient(base_url=api.sink) as sink:
        mail = (await sink.get("/api/messages", params={"to": "ada@example.com"})).json()
    assert [m["subject"] for m in mail["messages"]] == ["Hello Ada"]
    with Session(get_engine()) as session:
        assert len(session.exec(select(Enrollment)).all()) == 1
        logged = session.exec(select(ActivityLog)).all()
        sent = [a for a in logged if a.kind == ActivityKind.send_email]
        assert [a.subject for a in sent] == ["Hello Ada"]

    removed = await api.call("POST", f"/enrollments/{enrolled['enrollment_id']}/remove",
                             role="rep", json={"reason": "test"})  # fmt: skip
    assert removed.status_code == 202
    for _ in range(100):  # the workflow ends and records it (no workflow is left behind)
        ended = (await api.call("GET", f"/enrollments/{enrolled['enrollment_id']}")).json()
        if ended["status"] != "active":
            break
        await asyncio.sleep(0.1)
    assert ended["status"] == "removed" and ended["end_reason"] == "removed"
    assert ended["end_note"] == "test" and ended["live"]["end_note"] == "test"
    assert ended["live"]["steps"][-1]["step_id"] == "intro"  # "later" was never sent


async def test_enrollment_errors_say_what_is_wrong(api: Api) -> None:
    missing = await api.call("POST", "/campaigns/999/enrollments", json={"person_ids": [1]})
    assert missing.status_code == 404 and "999" in missing.json()["detail"]
    created = await api.call("POST", "/campaigns", content=PLAYBOOK,
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    url = f"/campaigns/{created.json()['id']}/enrollments"
    bad_email = await api.call("POST", url, json={"emails": ["not-an-email"]})
    assert bad_email.status_code == 422
    assert bad_email.json()["detail"][0]["loc"][:2] == ["body", "emails"]
    unknown = await api.call(
        "POST", url, json={"emails": [f"{uuid.uuid4().hex}@nowhere.example.com"]}
    )
    assert unknown.status_code == 202, unknown.text
    assert unknown.json()["results"][0]["result"] == "person_not_found"


async def test_a_json_playbook_gets_every_problem_with_its_path(api: Api) -> None:
    body = {
        "name": "JSON",
        "steps": [
            {"id": "a", "day": 2, "type": "auto_email", "subject": "{{nope}}", "body": "x"},
            {"id": "a", "day": 1, "type": "auto_email", "subject": "s", "body": "y"},
        ],
    }
    resp = await api.call("POST", "/campaigns", role="author", json=body)
    assert resp.status_code == 422
    got = [(d["loc"], d["msg"].split(" (")[0]) for d in resp.json()["detail"]]
    assert got == [
        (["body", "steps", 0, "subject"], "unknown field {{nope}}"),
        (["body", "steps", 1, "id"], "duplicate step id 'a'"),
        (["body", "steps", 1, "day"], "day 1 comes before the previous step's day 2"),
    ]


async def test_pause_and_resume_through_the_api(api: Api) -> None:
    created = await api.call("POST", "/campaigns", role="author", content=PLAYBOOK,
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    url = f"/campaigns/{created.json()['id']}/enrollments"
    enrolled = (
        await api.call("POST", url, role="rep", json={"emails": ["ada@example.com"]})
    ).json()
    enrollment_id = enrolled["results"][0]["enrollment_id"]
    for _ in range(100):  # wait until the first email is out and "later" is waiting
        live = (await api.call("GET", f"/enrollments/{enrollment_id}")).json()["live"]
        if live and live["steps"]:
            break
        await asyncio.sleep(0.1)
    paused = await api.call("POST", f"/enrollments/{enrollment_id}/pause", role="rep",
                            json={"note": "on leave"})  # fmt: skip
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    again = await api.call("POST", f"/enrollments/{enrollment_id}/pause", role="rep")
    assert again.status_code == 409
    assert again.json()["detail"] == "only an active enrollment can be paused; this one is paused"
    as_author = await api.call("POST", f"/enrollments/{enrollment_id}/resume", role="author")
    assert as_author.status_code == 403
    resumed = await api.call("POST", f"/enrollments/{enrollment_id}/resume", role="rep")
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    assert resumed.json()["day_shift"] == 0  # resumed the same day
    removed = await api.call("POST", f"/enrollments/{enrollment_id}/remove", role="rep")
    assert removed.status_code == 202
    for _ in range(100):
        if (await api.call("GET", f"/enrollments/{enrollment_id}")).json()["status"] != "active":
            break
        await asyncio.sleep(0.1)
    ended = await api.call("POST", f"/enrollments/{enrollment_id}/resume", role="rep")
    assert ended.status_code == 409


WITH_CALL = """\
name: With a call
settings: {skip_weekends: false, holidays: "off", default_send_time: "00:00",
           send_window: {start: "00:00", end: "23:59"}}
steps:
  - {id: intro, day: 1, type: auto_email, send_at: immediately, subject: "Hi {{first_name}}",
     body: x}
  - {id: call, day: 1, type: call, title: "Call {{first_name}} at {{company}}",
     notes: Ask about tooling, priority: high}
  - {id: bump, day: 1, type: auto_email, send_at: same_as_previous, thread: true, body: y}
"""


async def test_a_rep_completes_a_call_task_and_the_cadence_goes_on(api: Api) -> None:
    created = await api.call("POST", "/campaigns", role="author", content=WITH_CALL,
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert created.status_code == 201, created.text
    url = f"/campaigns/{created.json()['id']}/enrollments"
    enrolled = (
        await api.call("POST", url, role="rep", json={"emails": ["ada@example.com"]})
    ).json()
    enrollment_id = enrolled["results"][0]["enrollment_id"]
    tasks: list[dict[str, Any]] = []
    for _ in range(100):
        tasks = (await api.call("GET", "/tasks", role="rep")).json()
        if tasks:
            break
        await asyncio.sleep(0.1)
    assert [(t["step_id"], t["type"], t["title"], t["priority"]) for t in tasks] == [
        ("call", "call", "Call Ada at Acme", "high")
    ]
    task_id = tasks[0]["id"]
    assert (await api.call("GET", "/tasks", role="admin")).json()[0]["id"] == task_id
    as_author = await api.call("POST", f"/tasks/{task_id}/complete", role="author")
    assert as_author.status_code == 403

    done = await api.call("POST", f"/tasks/{task_id}/complete", role="rep",
                          json={"outcome": "connected", "notes": "Demo next week"})  # fmt: skip
    assert done.status_code == 200, done.text
    again = await api.call("POST", f"/tasks/{task_id}/skip", role="rep")
    assert again.status_code == 409

    state: dict[str, Any] = {}
    for _ in range(100):
        state = (await api.call("GET", f"/enrollments/{enrollment_id}")).json()
        if state["status"] == "completed":
            break
        await asyncio.sleep(0.1)
    assert [(s["step_id"], s["status"]) for s in state["live"]["steps"]] == [
        ("intro", "sent"), ("call", "completed"), ("bump", "sent"),
    ]  # fmt: skip
    timeline = (await api.call("GET", f"/enrollments/{enrollment_id}/timeline")).json()
    assert [(e["step_id"], e["status"]) for e in timeline] == [
        ("intro", "sent"), ("call", "completed"), ("bump", "sent"),
    ]  # fmt: skip
    assert timeline[1]["reason"] == "connected"
    closed = (await api.call("GET", "/tasks", role="rep", params={"status": "completed"})).json()
    assert closed[0]["outcome"] == "connected" and closed[0]["outcome_notes"] == "Demo next week"
    with Session(get_engine()) as session:
        calls = [a for a in session.exec(select(ActivityLog)).all() if a.kind == ActivityKind.call]
    assert [(c.subject, c.details["outcome"]) for c in calls] == [("Call Ada at Acme", "connected")]
    # logged to its campaign, as Marketo's campaign attributes and Salesforce's field need
    assert (calls[0].enrollment_id, calls[0].campaign_id) == (enrollment_id, created.json()["id"])
    assert calls[0].details["campaign_name"] == "With a call"


async def test_skip_reschedule_and_mark_success_through_the_api(api: Api) -> None:
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
    base = f"/enrollments/{enrollment_id}"
    wrong = await api.call("POST", f"{base}/skip-step", role="rep", json={"step_id": "intro"})
    assert wrong.status_code == 409 and "waits for step 'later'" in wrong.json()["detail"]
    naive = await api.call("POST", f"{base}/reschedule", role="rep",
                           json={"step_id": "later", "at": "2030-01-01T10:00:00"})  # fmt: skip
    assert naive.status_code == 422
    new_time = {"step_id": "later", "at": "2030-01-02T10:00:00+00:00"}
    moved = await api.call("POST", f"{base}/reschedule", role="rep", json=new_time)
    assert moved.status_code == 200 and moved.json()["next_due_at"].startswith("2030-01-02T10:00")
    success = await api.call("POST", f"{base}/mark-success", role="rep", json={"note": "booked"})
    assert success.status_code == 200
    for _ in range(100):
        row = (await api.call("GET", base)).json()
        if row["status"] != "active":
            break
        await asyncio.sleep(0.1)
    assert row["status"] == "completed" and row["end_reason"] == "success"
    assert row["end_note"] == "booked"


async def test_an_author_migrates_running_enrollments_to_a_new_version(api: Api) -> None:
    created = await api.call("POST", "/campaigns", role="author", content=PLAYBOOK,
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    campaign_id = created.json()["id"]
    url = f"/campaigns/{campaign_id}/enrollments"
    enrolled = (
        await api.call("POST", url, role="rep", json={"emails": ["ada@example.com"]})
    ).json()
    enrollment_id = enrolled["results"][0]["enrollment_id"]
    v2 = PLAYBOOK.replace("day: 3", "day: 4").replace("Still there?", "Any news?")
    yaml_type = {"Content-Type": "application/yaml"}
    published = await api.call(
        "POST", f"/campaigns/{campaign_id}/versions", role="author", content=v2, headers=yaml_type
    )
    assert published.json()["current_version"] == 2
    row = (await api.call("GET", f"/enrollments/{enrollment_id}")).json()
    assert row["campaign_version"] == 1  # running enrollments keep theirs
    missing = await api.call("POST", f"/campaigns/{campaign_id}/versions/9/migrate", role="author")
    assert missing.status_code == 404
    as_rep = await api.call("POST", f"/campaigns/{campaign_id}/versions/2/migrate", role="rep")
    assert as_rep.status_code == 403
    migrated = await api.call("POST", f"/campaigns/{campaign_id}/versions/2/migrate",
                              role="author")  # fmt: skip
    assert migrated.json() == [
        {"enrollment_id": enrollment_id, "result": "migrated", "reason": None}
    ]
    row = (await api.call("GET", f"/enrollments/{enrollment_id}")).json()
    assert row["campaign_version"] == 2
    again = await api.call("POST", f"/campaigns/{campaign_id}/versions/2/migrate", role="author")
    assert again.json() == []  # nothing left on another version
    await api.call("POST", f"/enrollments/{enrollment_id}/remove", role="rep")
    for _ in range(100):
        if (await api.call("GET", f"/enrollments/{enrollment_id}")).json()["status"] != "active":
            break
        await asyncio.sleep(0.1)


async def test_a_rep_sends_a_manual_email_task(api: Api) -> None:
    playbook = (
        "name: Manual\n"
        "settings: {skip_weekends: false, holidays: 'off', default_send_time: '00:00',\n"
        "           send_window: {start: '00:00', end: '23:59'}}\n"
        "steps:\n"
        "  - {id: m, day: 1, type: manual_email, subject: 'For {{company}}',\n"
        "     body: 'Hi {{first_name}}, {{! opener}}'}\n"
    )
    created = await api.call("POST", "/campaigns", role="author", content=playbook,
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert created.status_code == 201, created.text
    url = f"/campaigns/{created.json()['id']}/enrollments"
    await api.call("POST", url, role="rep", json={"emails": ["ada@example.com"]})
    tasks: list[dict[str, Any]] = []
    for _ in range(100):
        tasks = (await api.call("GET", "/tasks", role="rep")).json()
        if tasks:
            break
        await asyncio.sleep(0.1)
    assert tasks[0]["type"] == "manual_email" and tasks[0]["title"] == "Email: For Acme"
    task_id = tasks[0]["id"]
    draft = await api.call("POST", f"/tasks/{task_id}/send", role="rep", json={})
    assert draft.status_code == 409 and "{{! opener}}" in draft.json()["detail"]
    sent = await api.call("POST", f"/tasks/{task_id}/send", role="rep",
                          json={"body": "Hi {{first_name}}, great to meet you."})  # fmt: skip
    assert sent.status_code == 200, sent.text
    for _ in range(100):
        async with httpx.AsyncClient(base_url=api.sink) as sink:
            mail = (await sink.get("/api/messages", params={"to": "ada@example.com"})).json()
        if mail["count"]:
            break
        await asyncio.sleep(0.1)
    assert mail["messages"][0]["subject"] == "For Acme"
    assert mail["messages"][0]["text"].strip() == "Hi Ada, great to meet you."


async def test_preview_renders_a_step_for_a_person(api: Api) -> None:
    playbook = PLAYBOOK.replace("Following up.", "Call me at {{phone}}. {{my_name}}")
    created = await api.call("POST", "/campaigns", role="author", content=playbook,
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    campaign_id = created.json()["id"]
    with Session(get_engine()) as session:
        person_id = session.exec(select(Person)).one().id
    url = f"/campaigns/{campaign_id}/preview"
    intro = await api.call(
        "POST", url, role="rep", json={"step_id": "intro", "person_id": person_id}
    )
    assert intro.json() == {
        "step_id": "intro", "type": "auto_email", "subject": "Hello Ada",
        "body": "Hi Ada, a quick question.", "problems": [],
    }  # fmt: skip
    later = await api.call(
        "POST", url, role="rep", json={"step_id": "later", "person_id": person_id}
    )
    assert later.json()["problems"] == ["body: missing value for {{phone}}"]
    missing = await api.call("POST", url, json={"step_id": "nope", "person_id": person_id})
    assert missing.status_code == 404 and "the steps are intro, later" in missing.json()["detail"]


async def _enroll_and_wait(api: Api, playbook: str) -> dict[str, Any]:
    created = await api.call("POST", "/campaigns", role="author", content=playbook,
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    url = f"/campaigns/{created.json()['id']}/enrollments"
    enrolled = (
        await api.call("POST", url, role="rep", json={"emails": ["ada@example.com"]})
    ).json()
    enrollment_id = enrolled["results"][0]["enrollment_id"]
    row: dict[str, Any] = {}
    for _ in range(100):
        row = (await api.call("GET", f"/enrollments/{enrollment_id}")).json()
        if row["status"] != "active":
            break
        await asyncio.sleep(0.1)
    return row


IMMEDIATE = PLAYBOOK.replace("day: 3", "day: 1\n    send_at: immediately")


async def test_a_blocked_domain_stops_the_email_and_the_decision_is_kept(api: Api) -> None:
    as_rep = await api.call("POST", "/admin/blocked-domains", role="rep",
                            json={"domain": "example.com"})  # fmt: skip
    assert as_rep.status_code == 403
    bad = await api.call("POST", "/admin/blocked-domains", json={"domain": "not a domain"})
    assert bad.status_code == 422
    blocked = await api.call("POST", "/admin/blocked-domains",
                             json={"domain": "Example.COM", "note": "a competitor"})  # fmt: skip
    assert blocked.status_code == 201 and blocked.json()["domain"] == "example.com"
    row = await _enroll_and_wait(api, IMMEDIATE)
    assert row["status"] == "completed"
    steps = row["live"]["steps"]
    assert [(s["step_id"], s["status"], s["reason"]) for s in steps] == [
        ("intro", "skipped", "the domain example.com is blocked"),
        ("later", "skipped", "the domain example.com is blocked"),
    ]
    async with httpx.AsyncClient(base_url=api.sink) as sink:
        assert (await sink.get("/api/messages")).json()["count"] == 0
    assert (await api.call("DELETE", "/admin/blocked-domains/example.com")).status_code == 204


async def test_an_address_that_bounced_before_ends_the_enrollment(api: Api) -> None:
    with Session(get_engine()) as session:
        person = session.exec(select(Person)).one()
        assert person.id is not None
        session.add(EmailMessage(message_id="<old@x>", person_id=person.id, sender="r@x.com",
                                 recipient="ada@example.com", subject="s", body_text="b",
                                 status="bounced"))  # fmt: skip
        session.commit()
    row = await _enroll_and_wait(api, IMMEDIATE)
    assert (row["status"], row["end_reason"]) == ("completed", "bounced")
    assert row["live"]["steps"][0]["reason"] == "ada@example.com hard-bounced before"


async def test_my_signature_comes_from_the_senders_profile(api: Api) -> None:
    signature = "Rita Rep\nAccount Executive, Seller Inc."
    updated = await api.call("PATCH", "/users/me", role="rep", json={"signature": signature})
    assert updated.status_code == 200 and updated.json()["signature"] == signature
    playbook = PLAYBOOK.replace("a quick question.", "a quick question.\\n\\n{{my_signature}}")
    created = await api.call("POST", "/campaigns", role="author", content=playbook,
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    url = f"/campaigns/{created.json()['id']}/enrollments"
    await api.call("POST", url, role="rep", json={"emails": ["ada@example.com"]})
    async with httpx.AsyncClient(base_url=api.sink) as sink:
        for _ in range(100):
            mail = (await sink.get("/api/messages", params={"to": "ada@example.com"})).json()
            if mail["count"]:
                break
            await asyncio.sleep(0.1)
    assert mail["messages"][0]["text"].rstrip().endswith(signature)
    with Session(get_engine()) as session:
        person_id = session.exec(select(Person)).one().id
    campaigns = (await api.call("GET", "/campaigns")).json()
    preview = await api.call("POST", f"/campaigns/{campaigns[0]['id']}/preview", role="author",
                             json={"step_id": "intro", "person_id": person_id})  # fmt: skip
    assert preview.json()["problems"] == []  # the author has no signature: it renders blank


async def test_the_shipping_report_counts_every_state(api: Api) -> None:
    from cadence.core.db import get_engine
    from cadence.core.models import ActivityKind, ActivityLog, Person, ShipCursor, ShipOutcome
    from cadence.services.activity_log import record_activity

    with Session(get_engine()) as session:
        person = session.exec(select(Person)).first()
        assert person is not None and person.id is not None
        for i in range(5):
            record_activity(session, key=f"k{i}", kind=ActivityKind.send_email,
                            person_id=person.id, subject=f"s{i}")  # fmt: skip
        session.commit()
        logged = session.exec(select(ActivityLog).order_by(col(ActivityLog.id))).all()
        ids = [a.id for a in logged if a.id is not None]
        assert len(ids) == 5
        states = ["shipped", "shipped", "deferred", "in_doubt"]
        for activity_id, state in zip(ids[:4], states, strict=True):
            session.add(ShipOutcome(activity_id=activity_id, destination="marketo", status=state))
        session.add(ShipCursor(destination="marketo", possible_duplicates=3, ambiguous_retries=1))
        session.commit()
    assert (await api.call("GET", "/admin/shipping", role="rep")).status_code == 403
    report = {r["destination"]: r for r in (await api.call("GET", "/admin/shipping")).json()}
    marketo = report["marketo"]
    assert (marketo["shipped"], marketo["deferred"], marketo["in_doubt"]) == (2, 1, 1)
    assert (marketo["waiting"], marketo["possible_duplicates"]) == (1, 3)
    assert report["salesforce"]["waiting"] == 5


async def test_people_are_read_only_and_duplicates_are_not_guessed(api: Api) -> None:
    from cadence.core.db import get_engine
    from cadence.core.models import Person

    made = await api.call("POST", "/people", role="rep", json={"email": "x@example.com"})
    assert made.status_code == 405  # people come from Marketo
    with Session(get_engine()) as session:
        twins = [Person(email="twin@example.com", first_name=n) for n in ("Tom", "Tim")]
        session.add_all(twins)
        session.commit()
        ids = [t.id for t in twins if t.id is not None]
    found = (await api.call("GET", "/people", params={"email": "twin@example.com"})).json()
    assert sorted(p["id"] for p in found) == sorted(ids)  # two people, as Marketo has them
    campaign = await api.call("POST", "/campaigns", role="author", content=PLAYBOOK,
                              headers={"Content-Type": "application/yaml"})  # fmt: skip
    url = f"/campaigns/{campaign.json()['id']}/enrollments"
    by_email = await api.call("POST", url, role="rep", json={"emails": ["twin@example.com"]})
    result = by_email.json()["results"]
    assert [(r["result"], r["person_id"]) for r in result] == [("several_people", None)]
    assert f"ids {ids[0]}, {ids[1]}" in result[0]["detail"]
    by_id = await api.call("POST", url, role="rep", json={"person_ids": [ids[1]]})
    assert by_id.json()["results"][0]["result"] == "enrolled"
    mail = await api.call("POST", "/emails", role="rep", json={
        "emails": ["twin@example.com"], "subject": "Hi", "body": "Hello"})  # fmt: skip
    assert mail.status_code == 422
    assert mail.json()["detail"][0]["loc"] == ["body", "emails", 0]
    assert "2 people have this address" in mail.json()["detail"][0]["msg"]


async def test_a_task_completed_in_salesforce_moves_the_cadence_on(api: Api) -> None:
    """The reminder-task sync completes the task through its enrollment, as the rep would."""
    from cadence.domain.contracts import TaskDone
    from worker import task_completer

    created = await api.call("POST", "/campaigns", role="author", content=WITH_CALL,
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    url = f"/campaigns/{created.json()['id']}/enrollments"
    enrolled = await api.call("POST", url, role="rep", json={"emails": ["ada@example.com"]})
    result = enrolled.json()["results"][0]
    tasks: list[dict[str, Any]] = []
    for _ in range(100):
        tasks = (await api.call("GET", "/tasks", role="rep")).json()
        if tasks:
            break
        await asyncio.sleep(0.1)
    complete = task_completer(api.temporal)
    done = TaskDone(step_id="call", outcome="completed in Salesforce", notes="Spoke briefly")
    assert await complete(result["workflow_id"], done)
    assert not await complete(result["workflow_id"], done)  # no open task any more
    state: dict[str, Any] = {}
    for _ in range(100):
        state = (await api.call("GET", f"/enrollments/{result['enrollment_id']}")).json()
        if state["status"] == "completed":
            break
        await asyncio.sleep(0.1)
    assert [(s["step_id"], s["status"]) for s in state["live"]["steps"]] == [
        ("intro", "sent"), ("call", "completed"), ("bump", "sent"),
    ]  # fmt: skip
