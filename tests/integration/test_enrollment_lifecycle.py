"""An enrollment's status through its life, on a real dev server: one vocabulary in the
database, the API and the workflow; runs that end without finishing (terminated, failed,
timed out, gone) are noticed on read and by the sweep, and the person can be enrolled again;
a migrated enrollment's timeline; no workflow failure reaches a user as a bare 500."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from cadence.core.auth import create_user
from cadence.core.db import get_engine
from cadence.core.models import Campaign, Enrollment, Person, Role, Task
from cadence.domain.contracts import TASK_QUEUE
from tests.utils.api import Api, unique_person_id
from tests.utils.waiting import eventually

YAML = {"Content-Type": "application/yaml"}

TWO_EMAILS = """\
name: Two emails
settings: {skip_weekends: false, holidays: "off", send_window: {start: "00:00", end: "23:59"}}
steps:
  - {id: intro, day: 1, type: auto_email, send_at: immediately, subject: Hi, body: Hello}
  - {id: later, day: 3, type: auto_email, subject: Again, body: Following up}
"""

WITH_CALL = """\
name: Email, call, email
settings: {skip_weekends: false, holidays: "off", default_send_time: "00:00",
           send_window: {start: "00:00", end: "23:59"}}
steps:
  - {id: intro, day: 1, type: auto_email, send_at: immediately, subject: Hi, body: Hello}
  - {id: call, day: 1, type: call, title: "Call {{first_name}}"}
  - {id: bump, day: 3, type: auto_email, thread: true, body: Bump}
"""


async def _campaign(api: Api, playbook: str) -> int:
    created = await api.call("POST", "/campaigns", role="author", content=playbook, headers=YAML)
    assert created.status_code == 201, created.text
    campaign_id: int = created.json()["id"]
    return campaign_id


async def _enroll(api: Api, campaign_id: int) -> dict[str, Any]:
    url = f"/campaigns/{campaign_id}/enrollments"
    response = await api.call("POST", url, role="rep", json={"emails": ["ada@example.com"]})
    assert response.status_code == 202, response.text
    result: dict[str, Any] = response.json()["results"][0]
    return result


async def _get(api: Api, enrollment_id: int) -> dict[str, Any]:
    response = await api.call("GET", f"/enrollments/{enrollment_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _row(enrollment_id: int) -> Enrollment:
    with Session(get_engine()) as session:
        row = session.get(Enrollment, enrollment_id)
        assert row is not None
        return row


async def _first_email_sent(api: Api, enrollment_id: int) -> dict[str, Any]:
    async def sent() -> dict[str, Any] | None:
        body = await _get(api, enrollment_id)
        return body if body["live"] and body["live"]["steps"] else None

    result: dict[str, Any] = await eventually(sent)
    return result


async def _open_task(api: Api) -> dict[str, Any]:
    async def task() -> dict[str, Any] | None:
        tasks = (await api.call("GET", "/tasks", role="rep")).json()
        return tasks[0] if tasks else None

    result: dict[str, Any] = await eventually(task)
    return result


async def test_the_timeline_of_a_migrated_enrollment_through_the_api(api: Api) -> None:
    """Two steps done on version 1, a version 2 with one step: the timeline still answers."""
    campaign_id = await _campaign(api, WITH_CALL)
    enrollment_id = (await _enroll(api, campaign_id))["enrollment_id"]
    task = await _open_task(api)
    v2 = WITH_CALL.replace("Email, call, email", "One more").split("steps:")[0] + (
        "steps:\n  - {id: wrap-up, day: 30, type: auto_email, subject: Bye, body: Bye}\n"
    )
    published = await api.call(
        "POST", f"/campaigns/{campaign_id}/versions", role="author", content=v2, headers=YAML
    )
    assert published.status_code == 201, published.text
    migrated = await api.call("POST", f"/campaigns/{campaign_id}/versions/2/migrate",
                              role="author")  # fmt: skip
    assert migrated.json()[0]["result"] == "migrated"
    done = await api.call("POST", f"/tasks/{task['id']}/complete", role="rep")
    assert done.status_code == 200, done.text

    async def moved_on() -> list[dict[str, Any]] | None:
        response = await api.call("GET", f"/enrollments/{enrollment_id}/timeline")
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()
        return entries if [e["step_id"] for e in entries][-1:] == ["wrap-up"] else None

    timeline = await eventually(moved_on)
    assert [(e["step_id"], e["type"], e["day"], e["status"]) for e in timeline] == [
        ("intro", "auto_email", 1, "sent"),
        ("call", "call", 1, "completed"),
        ("wrap-up", "auto_email", 30, "due"),
    ]
    await api.call("POST", f"/enrollments/{enrollment_id}/remove", role="rep")


async def test_a_paused_enrollment_says_paused_in_the_api_and_the_database(api: Api) -> None:
    campaign_id = await _campaign(api, TWO_EMAILS)
    enrollment_id = (await _enroll(api, campaign_id))["enrollment_id"]
    await _first_email_sent(api, enrollment_id)
    paused = await api.call("POST", f"/enrollments/{enrollment_id}/pause", role="rep")
    assert paused.status_code == 200, paused.text

    body = await _get(api, enrollment_id)
    assert body["status"] == "paused" and body["live"]["status"] == "paused"
    await eventually(lambda: _async(_row(enrollment_id).status == "paused"))
    listed = (await api.call("GET", f"/campaigns/{campaign_id}/enrollments")).json()
    assert [e["status"] for e in listed] == ["paused"]

    resumed = await api.call("POST", f"/enrollments/{enrollment_id}/resume", role="rep")
    assert resumed.status_code == 200, resumed.text
    assert (await _get(api, enrollment_id))["status"] == "active"
    await eventually(lambda: _async(_row(enrollment_id).status == "active"))

    paused_again = await api.call("POST", f"/enrollments/{enrollment_id}/pause", role="rep")
    assert paused_again.status_code == 200
    removed = await api.call("POST", f"/enrollments/{enrollment_id}/remove", role="rep")
    assert removed.status_code == 202, removed.text  # a paused enrollment can be removed
    ended = await eventually(lambda: _ended(api, enrollment_id))
    assert (ended["status"], ended["end_reason"]) == ("removed", "removed")


async def _async(value: Any) -> Any:
    return value


async def _ended(api: Api, enrollment_id: int) -> dict[str, Any] | None:
    body = await _get(api, enrollment_id)
    return body if body["status"] not in ("active", "paused") else None


async def test_a_terminated_enrollment_is_noticed_and_the_person_can_enroll_again(
    api: Api,
) -> None:
    campaign_id = await _campaign(api, WITH_CALL)
    first = await _enroll(api, campaign_id)
    enrollment_id, workflow_id = first["enrollment_id"], first["workflow_id"]
    task = await _open_task(api)
    await api.temporal.get_workflow_handle(workflow_id).terminate(reason="stuck in a test")

    body = await _get(api, enrollment_id)
    assert (body["status"], body["end_reason"]) == ("failed", "terminated")
    assert "stuck in a test" in body["end_note"] and body["ended_at"] is not None
    assert body["live"] is None  # the run's own view stopped being true when it was stopped
    row = _row(enrollment_id)
    assert (row.status, row.end_reason) == ("failed", "terminated")
    with Session(get_engine()) as session:
        stale = session.get(Task, task["id"])
        assert stale is not None and stale.status == "cancelled"  # no to-do left for a rep

    for action in ("pause", "resume", "mark-success", "remove"):
        refused = await api.call("POST", f"/enrollments/{enrollment_id}/{action}", role="rep")
        assert refused.status_code == 409, (action, refused.text)
        assert "ended" in refused.json()["detail"] and "terminated" in refused.json()["detail"]
    timeline = await api.call("GET", f"/enrollments/{enrollment_id}/timeline")
    assert timeline.status_code == 200, timeline.text
    assert [(e["step_id"], e["status"]) for e in timeline.json()] == [
        ("intro", "sent"), ("call", "not_reached"), ("bump", "not_reached"),
    ]  # fmt: skip

    again = await _enroll(api, campaign_id)
    assert again["result"] == "enrolled" and again["enrollment_id"] != enrollment_id
    assert again["workflow_id"] == f"{workflow_id}/2"
    live = (await _first_email_sent(api, again["enrollment_id"]))["live"]
    assert [s["step_id"] for s in live["steps"]] == ["intro"]
    repeat = await _enroll(api, campaign_id)  # the new enrollment counts as enrolled
    assert (repeat["result"], repeat["enrollment_id"]) == (
        "already_enrolled",
        again["enrollment_id"],
    )
    await api.call("POST", f"/enrollments/{again['enrollment_id']}/remove", role="rep")


async def test_enrolling_again_notices_a_closed_run_the_database_missed(api: Api) -> None:
    """Nobody read the enrollment after it was terminated: the enrollment request finds out."""
    campaign_id = await _campaign(api, TWO_EMAILS)
    first = await _enroll(api, campaign_id)
    await _first_email_sent(api, first["enrollment_id"])
    await api.temporal.get_workflow_handle(first["workflow_id"]).terminate(reason="by hand")

    again = await _enroll(api, campaign_id)
    assert again["result"] == "enrolled" and again["workflow_id"] == f"{first['workflow_id']}/2"
    row = _row(first["enrollment_id"])
    assert (row.status, row.end_reason) == ("failed", "terminated")
    await api.call("POST", f"/enrollments/{again['enrollment_id']}/remove", role="rep")


async def test_the_sweep_records_runs_that_ended_without_finishing(api: Api) -> None:
    from cadence.domain.contracts import EnrollmentSweepInput
    from workflows.enrollment_sweep import EnrollmentSweepWorkflow

    campaign_id = await _campaign(api, TWO_EMAILS)
    stopped = await _enroll(api, campaign_id)
    await _first_email_sent(api, stopped["enrollment_id"])
    await api.temporal.get_workflow_handle(stopped["workflow_id"]).terminate(reason="cleanup")
    with Session(get_engine()) as session:
        running_person = Person(id=unique_person_id(), email="grace@example.com")
        gone_person = Person(id=unique_person_id(), email="alan@example.com")
        session.add(running_person)
        session.add(gone_person)
        session.commit()
        assert gone_person.id is not None
        # A row whose run Temporal no longer knows (deleted after retention), long ago.
        gone = Enrollment(
            campaign_id=campaign_id, campaign_version=1, person_id=gone_person.id,
            owner_id=stopped_owner(session, stopped["enrollment_id"]),
            workflow_id=f"enrollment/{campaign_id}/{gone_person.id}-{uuid.uuid4().hex}",
            created_at=datetime(2020, 1, 6, tzinfo=UTC),
        )  # fmt: skip
        session.add(gone)
        session.commit()
        gone_id = gone.id
    url = f"/campaigns/{campaign_id}/enrollments"
    running = (
        await api.call("POST", url, role="rep", json={"emails": ["grace@example.com"]})
    ).json()["results"][0]
    await _first_email_sent(api, running["enrollment_id"])

    result = await api.temporal.execute_workflow(
        EnrollmentSweepWorkflow.run,
        EnrollmentSweepInput(batch_size=2),
        id=f"enrollment-sweep/test-{uuid.uuid4()}",
        task_queue=TASK_QUEUE,
    )
    assert result.checked == 3 and result.ended == {"terminated": 1, "not_found": 1}
    assert gone_id is not None
    assert (_row(stopped["enrollment_id"]).status, _row(stopped["enrollment_id"]).end_reason) == (
        "failed", "terminated",
    )  # fmt: skip
    assert (_row(gone_id).status, _row(gone_id).end_reason) == ("failed", "not_found")
    assert _row(running["enrollment_id"]).status == "active"
    await api.call("POST", f"/enrollments/{running['enrollment_id']}/remove", role="rep")


def stopped_owner(session: Session, enrollment_id: int) -> int:
    row = session.get(Enrollment, enrollment_id)
    assert row is not None
    return row.owner_id


async def test_a_recent_enrollment_without_a_run_is_left_alone(api: Api) -> None:
    """A row whose start may still be on its way is not declared gone."""
    campaign_id = await _campaign(api, TWO_EMAILS)
    with Session(get_engine()) as session:
        person = session.exec(select(Person)).first()
        assert person is not None and person.id is not None
        row = Enrollment(
            campaign_id=campaign_id, campaign_version=1, person_id=person.id, owner_id=1,
            workflow_id=f"enrollment/{campaign_id}/{person.id}-{uuid.uuid4().hex}",
        )  # fmt: skip
        session.add(row)
        session.commit()
        enrollment_id = row.id
    assert enrollment_id is not None
    body = await _get(api, enrollment_id)
    assert body["status"] == "active" and body["live"] is None


def test_a_run_writes_only_to_its_own_enrollment_row(database: str) -> None:
    """A workflow whose enrollment id now names another run's row (a database restored or
    replaced while it ran) records nothing there: no end, no status, no closed task."""
    from cadence.domain.contracts import (
        CloseTaskInput,
        EndReason,
        EnrollmentStatus,
        FinishEnrollmentInput,
        RecordStatusInput,
    )
    from cadence.services.enrollments import _finish, _record_status
    from cadence.services.tasks import _close

    with Session(get_engine()) as session:
        user, _ = create_user(session, name="Rep", email="rep@seller.test", role=Role.rep)
        person = Person(id=unique_person_id(), email="ada@example.com")
        campaign = Campaign(name="C")
        session.add_all([person, campaign])
        session.flush()
        assert user.id is not None and person.id is not None and campaign.id is not None
        row = Enrollment(campaign_id=campaign.id, campaign_version=1, person_id=person.id,
                         owner_id=user.id, workflow_id="enrollment/1/mine")  # fmt: skip
        session.add(row)
        session.flush()
        assert row.id is not None
        task = Task(key="enrollment/1/mine/call", enrollment_id=row.id, step_id="call",
                    workflow_id="enrollment/1/mine", type="call", title="Call",
                    person_id=person.id, owner_id=user.id,
                    due_at=datetime(2026, 12, 7, tzinfo=UTC))  # fmt: skip
        session.add(task)
        session.commit()
        enrollment_id, task_id = row.id, task.id
        assert task_id is not None

    other = "enrollment/9/someone-else"
    removed = EnrollmentStatus.removed
    _finish(FinishEnrollmentInput(workflow_id=other, enrollment_id=enrollment_id,
                                  status=removed, end_reason=EndReason.removed))  # fmt: skip
    _record_status(RecordStatusInput(enrollment_id=enrollment_id,
                                     status=EnrollmentStatus.paused), other)  # fmt: skip
    _close(CloseTaskInput(task_id=task_id, workflow_id=other, status="cancelled",
                          closed_at=datetime(2026, 12, 7, tzinfo=UTC)))  # fmt: skip
    assert (_row(enrollment_id).status, _row(enrollment_id).end_reason) == ("active", None)
    with Session(get_engine()) as session:
        assert session.get(Task, task_id).status == "open"  # type: ignore[union-attr]

    paused = RecordStatusInput(enrollment_id=enrollment_id, status=EnrollmentStatus.paused)
    _record_status(paused, "enrollment/1/mine")
    assert _row(enrollment_id).status == "paused"  # its own run writes as before
