"""A person's zone and country through the API, on a dev server: a rep's override reaches the
running enrollment at its next step (the live state, the timeline, the Temporal UI), clearing
it brings Marketo's back, bad values are refused with their place, and the owner's zone is
the fallback."""

from __future__ import annotations

import asyncio
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session
from temporalio.api.sdk.v1 import WorkflowMetadata

from cadence.core.db import get_engine
from cadence.core.models import Person
from cadence.services.people_location import recompute
from tests.utils.api import Api, unique_person_id
from tests.utils.factories import PLAYBOOK

YAML = {"Content-Type": "application/yaml"}


def new_person(**fields: Any) -> int:
    """A person as the sync leaves them: Marketo's location, the zone and country derived."""
    with Session(get_engine()) as session:
        person = Person(id=unique_person_id(), email=f"p{unique_person_id()}@example.com",
                        first_name="Pat", **fields)  # fmt: skip
        recompute(person)
        session.add(person)
        session.commit()
        assert person.id is not None
        return person.id


async def enroll(api: Api, person_id: int) -> int:
    created = await api.call("POST", "/campaigns", role="author", content=PLAYBOOK, headers=YAML)
    url = f"/campaigns/{created.json()['id']}/enrollments"
    done = await api.call("POST", url, role="rep", json={"person_ids": [person_id]})
    enrollment: int = done.json()["results"][0]["enrollment_id"]
    return enrollment


async def live_when(api: Api, enrollment: int, check: Any) -> dict[str, Any]:
    live: dict[str, Any] = {}
    for _ in range(150):
        live = (await api.call("GET", f"/enrollments/{enrollment}", role="rep")).json()["live"]
        if live and check(live):
            return live
        await asyncio.sleep(0.1)
    raise AssertionError(f"the enrollment never got there: {live}")


def local_clock(instant: str, zone: str) -> time:
    return datetime.fromisoformat(instant).astimezone(ZoneInfo(zone)).time()


async def test_a_reps_zone_reaches_the_running_enrollment_and_clearing_it_restores(
    api: Api,
) -> None:
    person = new_person(address_country="United States", address_state="NY")
    enrollment = await enroll(api, person)
    waiting = await live_when(api, enrollment, lambda s: s["current_step"] == "later")
    assert (waiting["timezone"], waiting["timezone_source"]) == ("America/New_York", "state")
    assert (waiting["country"], waiting["country_source"]) == ("US", "country")
    assert local_clock(waiting["next_due_at"], "America/New_York") == time(9, 0)
    rep_id = (await api.call("GET", "/users/me", role="rep")).json()["id"]

    changed = await api.call("PATCH", f"/people/{person}", role="rep",
                             json={"timezone": "Asia/Tokyo"})  # fmt: skip
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["timezone"], body["timezone_source"]) == ("Asia/Tokyo", "override")
    assert (body["country"], body["country_source"]) == ("US", "country")
    assert body["location"]["country"] == "United States" and body["location"]["state"] == "NY"
    override = body["timezone_override"]
    assert (override["value"], override["set_by"]) == ("Asia/Tokyo", rep_id)
    assert override["set_at"].endswith("Z") and body["country_override"] is None
    assert (body["enrollments_told"], body["enrollments_pending"]) == (1, 0)

    moved = await live_when(api, enrollment, lambda s: s["timezone"] == "Asia/Tokyo")
    assert moved["timezone_source"] == "override"
    assert local_clock(moved["next_due_at"], "Asia/Tokyo") == time(9, 0)  # due again, in Tokyo
    timeline = (await api.call("GET", f"/enrollments/{enrollment}/timeline", role="rep")).json()
    assert [(e["step_id"], e["timezone"], e["timezone_source"]) for e in timeline] == [
        ("intro", "America/New_York", "state"), ("later", "Asia/Tokyo", "override"),
    ]  # fmt: skip
    workflow_id = (await api.call("GET", f"/enrollments/{enrollment}")).json()["workflow_id"]
    metadata: WorkflowMetadata = await api.temporal.get_workflow_handle(workflow_id).query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata
    )
    assert "(Asia/Tokyo, set for the lead by a rep)." in metadata.current_details

    cleared = await api.call("PATCH", f"/people/{person}", role="rep", json={"timezone": None})
    assert cleared.json()["timezone_override"] is None
    assert (cleared.json()["timezone"], cleared.json()["timezone_source"]) == (
        "America/New_York", "state")  # fmt: skip
    back = await live_when(api, enrollment, lambda s: s["timezone"] == "America/New_York")
    assert back["timezone_source"] == "state"
    with Session(get_engine()) as session:
        row = session.get(Person, person)
        assert row is not None and row.location_notified == row.location_version  # all told
    shown = (await api.call("GET", f"/people/{person}", role="author")).json()
    assert (shown["timezone"], shown["timezone_source"]) == ("America/New_York", "state")


async def test_only_a_real_zone_and_country_may_be_set_and_nothing_else(api: Api) -> None:
    person = new_person()
    url = f"/people/{person}"
    bad = [
        ({"timezone": "Mars/Olympus"}, ["body", "timezone"], "unknown time zone 'Mars/Olympus'"),
        ({"timezone": "Europe/Berln"}, ["body", "timezone"], "did you mean 'Europe/Berlin'?"),
        ({"country": "XX"}, ["body", "country"], "not an ISO 3166-1 alpha-2 country code"),
        ({"country": "Germany"}, ["body", "country"], "two letters, e.g. DE"),
        ({"first_name": "Eve"}, ["body", "first_name"], "Extra inputs are not permitted"),
        ({}, ["body"], "send timezone and/or country"),
    ]
    for payload, loc, words in bad:
        got = await api.call("PATCH", url, role="rep", json=payload)
        assert got.status_code == 422, (payload, got.text)
        assert [(e["loc"], words in e["msg"]) for e in got.json()["detail"]] == [(loc, True)]
    unchanged = (await api.call("GET", url)).json()
    assert (unchanged["timezone"], unchanged["country"], unchanged["first_name"]) == (
        None, None, "Pat")  # fmt: skip
    missing = await api.call("PATCH", "/people/999999999999", role="rep", json={"country": "DE"})
    assert missing.status_code == 404
    assert missing.json()["detail"] == "Person 999999999999 not found"
    assert (await api.call("PATCH", url, role="author", json={"country": "DE"})).status_code == 403

    as_typed = await api.call("PATCH", url, role="admin", json={"country": "de"})
    body = as_typed.json()
    assert (body["country"], body["country_source"]) == ("DE", "override")
    assert (body["timezone"], body["timezone_source"]) == ("Europe/Berlin", "country")
    assert body["enrollments_told"] == 0
    spelled = await api.call("PATCH", url, role="rep", json={"timezone": "america/chicago"})
    assert spelled.json()["timezone"] == "America/Chicago"
    assert spelled.json()["country_override"]["value"] == "DE"  # the other override stays


async def test_without_the_leads_zone_an_enrollment_is_in_its_owners(api: Api) -> None:
    bad = await api.call("PATCH", "/users/me", role="rep", json={"timezone": "Europe/Pariss"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "timezone"]
    me = await api.call("PATCH", "/users/me", role="rep", json={"timezone": "Europe/Paris"})
    assert me.json()["timezone"] == "Europe/Paris"
    enrollment = await enroll(api, new_person())
    live = await live_when(api, enrollment, lambda s: s["current_step"] == "later")
    assert (live["timezone"], live["timezone_source"]) == ("Europe/Paris", "owner")
    assert (live["country"], live["country_source"]) == ("FR", "zone")  # its holidays
