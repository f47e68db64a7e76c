"""A running enrollment takes its person's new zone and country (the change_location signal)
at its next step boundary, under the time-skipping test server; and why an enrollment is in
the zone it is in."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio import activity
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cadence.domain.calendar import resolve_zone
from cadence.domain.contracts import (
    MARKETO_QUEUE,
    EnrollmentState,
    LocationChange,
    LocationNotices,
    LocationNoticesInput,
    LocationSignal,
    OwnerSnapshot,
    PauseRequest,
    PeopleSyncInput,
    PeopleSyncResult,
    ResumeRequest,
)
from cadence.domain.playbook_yaml import parse_playbook
from tests.utils.enrollment import ALWAYS_OPEN, TUESDAY, Recorder, run_enrollment, wait_for_send
from tests.utils.factories import enrollment_input
from tests.utils.temporal import skip_to_local
from workflows.enrollment import EnrollmentWorkflow
from workflows.people_sync import PeopleSyncWorkflow

NY, TOKYO = ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")
Handle = WorkflowHandle[EnrollmentWorkflow, EnrollmentState]
TO_TOKYO = LocationChange(
    version=1, timezone="Asia/Tokyo", timezone_source="override", country="JP",
    country_source="zone",
)  # fmt: skip


async def details(handle: Handle) -> str:
    metadata: WorkflowMetadata = await handle.query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata
    )
    return metadata.current_details


async def state_when(env: WorkflowEnvironment, handle: Handle, zone: str) -> EnrollmentState:
    """The state once the enrollment has taken ``zone`` (a signal is handled in moments)."""
    for _ in range(50):
        state = await handle.query(EnrollmentWorkflow.state)
        if state.timezone == zone:
            return state
        await env.sleep(timedelta(seconds=1))
    raise AssertionError(f"the enrollment never took {zone}")


async def test_a_waiting_step_is_due_again_in_the_new_zone(time_env: WorkflowEnvironment) -> None:
    # Tuesday 11:00 in New York is Wednesday 01:00 in Tokyo.
    start = await skip_to_local(time_env, "America/New_York", TUESDAY, time(11, 0))
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(ALWAYS_OPEN))
    async with main, smtp:
        await wait_for_send(time_env, recorder, "a")
        before = await handle.query(EnrollmentWorkflow.state)
        friday = start.date() + timedelta(days=3)  # Day 4 in New York
        assert before.next_due_at == datetime.combine(friday, time(9), NY)
        assert (before.timezone, before.timezone_source) == ("America/New_York", "state")

        await handle.signal(EnrollmentWorkflow.change_location, TO_TOKYO)
        after = await state_when(time_env, handle, "Asia/Tokyo")
        # Day 1 is Wednesday in Tokyo, so Day 4 is Saturday there, at 09:00 Tokyo time.
        saturday = start.date() + timedelta(days=4)
        assert after.next_due_at == datetime.combine(saturday, time(9), TOKYO)
        assert (after.timezone_source, after.country, after.country_source) == (
            "override", "JP", "zone")  # fmt: skip
        assert "(Asia/Tokyo, set for the lead by a rep)" in await details(handle)
        timeline = await handle.query(EnrollmentWorkflow.timeline)
        assert [(e.step_id, e.status, e.timezone, e.timezone_source) for e in timeline] == [
            ("a", "sent", "America/New_York", "state"),  # done in New York: it stays
            ("b", "due", "Asia/Tokyo", "override"),
        ]  # fmt: skip
        final = await handle.result()
    sent = {s.step_id: at for s, at in recorder.sends}
    assert abs(sent["b"] - datetime.combine(saturday, time(9), TOKYO)) < timedelta(seconds=5)
    assert [(r.step_id, r.timezone) for r in final.steps] == [
        ("a", "America/New_York"), ("b", "Asia/Tokyo")]  # fmt: skip


async def test_a_new_country_brings_its_holidays(time_env: WorkflowEnvironment) -> None:
    start = await skip_to_local(time_env, "America/New_York", TUESDAY, time(11, 0))
    friday = start.date() + timedelta(days=3)  # Day 4: b is due then
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(ALWAYS_OPEN))
    async with main, smtp:
        await wait_for_send(time_env, recorder, "a")
        change = LocationChange(
            version=1, timezone="America/New_York", timezone_source="state", country="US",
            country_source="override", holiday_dates=[friday],
        )  # fmt: skip
        await handle.signal(EnrollmentWorkflow.change_location, change)
        for _ in range(50):
            state = await handle.query(EnrollmentWorkflow.state)
            if state.country == "US":
                break
            await time_env.sleep(timedelta(seconds=1))
        # Friday is a holiday now, so Day 4 is Saturday (weekends are sending days here).
        assert state.next_due_at == datetime.combine(friday + timedelta(days=1), time(9), NY)
        await handle.result()


async def test_older_news_changes_nothing(time_env: WorkflowEnvironment) -> None:
    """A change of a version the enrollment already has (signals may cross) is ignored."""
    recorder = Recorder()
    inp = enrollment_input(ALWAYS_OPEN, location_version=2)
    handle, main, smtp = await run_enrollment(time_env, recorder, inp)
    async with main, smtp:
        await wait_for_send(time_env, recorder, "a")
        before = await handle.query(EnrollmentWorkflow.state)
        for version in (1, 2):
            stale = TO_TOKYO.model_copy(update={"version": version})
            await handle.signal(EnrollmentWorkflow.change_location, stale)
        await time_env.sleep(timedelta(minutes=1))
        after = await handle.query(EnrollmentWorkflow.state)
        assert (after.timezone, after.next_due_at) == ("America/New_York", before.next_due_at)
        await handle.signal(EnrollmentWorkflow.change_location, TO_TOKYO.model_copy(
            update={"version": 3}))  # fmt: skip
        assert (await state_when(time_env, handle, "Asia/Tokyo")).timezone_source == "override"
        await handle.result()


async def test_a_paused_enrollment_takes_the_change_when_it_resumes(
    time_env: WorkflowEnvironment,
) -> None:
    start = await skip_to_local(time_env, "America/New_York", TUESDAY, time(11, 0))
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(ALWAYS_OPEN))
    async with main, smtp:
        await wait_for_send(time_env, recorder, "a")
        await handle.execute_update(EnrollmentWorkflow.pause, PauseRequest())
        await handle.signal(EnrollmentWorkflow.change_location, TO_TOKYO)
        await time_env.sleep(timedelta(minutes=1))
        paused = await handle.query(EnrollmentWorkflow.state)
        assert (paused.status, paused.timezone) == ("paused", "America/New_York")
        await handle.execute_update(EnrollmentWorkflow.resume, ResumeRequest())
        resumed = await state_when(time_env, handle, "Asia/Tokyo")
        # paused and resumed within the day: no shift; Day 4 in Tokyo is Saturday
        saturday = start.date() + timedelta(days=4)
        assert resumed.next_due_at == datetime.combine(saturday, time(9), TOKYO)
        await handle.result()


def test_a_change_not_taken_yet_is_carried_across_continue_as_new() -> None:
    """The continued run takes it at its first step boundary, and knows it as taken."""
    inp = enrollment_input(ALWAYS_OPEN)
    run = EnrollmentWorkflow(inp)
    change = TO_TOKYO.model_copy(update={"holiday_dates": [date(2026, 12, 25)]})
    run.change_location(change)
    continued = EnrollmentWorkflow(inp.continued(run.st))
    assert continued.st.location_change == change
    continued.change_location(change.model_copy(update={"timezone": "Europe/Paris"}))
    assert continued.st.location_change == change  # the same version again: old news


PLAYBOOK_TZ = parse_playbook(ALWAYS_OPEN.replace(
    "settings: {", "settings: {timezone: Europe/Paris, "))  # fmt: skip


@pytest.mark.parametrize(
    ("person", "owner", "playbook_tz", "expected"),
    [
        (("Asia/Tokyo", "phone"), "Europe/Berlin", True, ("Asia/Tokyo", "phone")),
        (("Asia/Tokyo", None), "Europe/Berlin", True, ("Asia/Tokyo", "lead")),
        ((None, None), "Europe/Berlin", True, ("Europe/Berlin", "owner")),
        (("Mars/Olympus", "override"), None, True, ("Europe/Paris", "playbook")),
        ((None, None), None, False, ("UTC", "default")),
    ],
)  # fmt: skip
def test_why_an_enrollment_is_in_its_zone(
    person: tuple[str | None, str | None],
    owner: str | None,
    playbook_tz: bool,
    expected: tuple[str, str],
) -> None:
    settings = (PLAYBOOK_TZ if playbook_tz else parse_playbook(ALWAYS_OPEN)).settings
    owner_snapshot = OwnerSnapshot(id=1, name="O", email="o@example.com", timezone=owner)
    assert resolve_zone(*person, owner_snapshot.timezone, settings) == expected


async def test_the_people_sync_tells_running_enrollments_and_marks_them_told(
    time_env: WorkflowEnvironment,
) -> None:
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(ALWAYS_OPEN))
    notices = LocationNotices(
        signals=[LocationSignal(workflow_id=handle.id, change=TO_TOKYO),
                 LocationSignal(workflow_id="enrollment/ended/1", change=TO_TOKYO)],
        versions={42: 1},
    )  # fmt: skip
    marked: list[LocationNotices] = []

    @activity.defn(name="sync_people_from_marketo")
    async def sync(inp: PeopleSyncInput) -> PeopleSyncResult:
        return PeopleSyncResult(updated=1)

    @activity.defn(name="location_notices")
    async def pending(inp: LocationNoticesInput) -> LocationNotices:
        return notices

    @activity.defn(name="mark_location_notified")
    async def mark(told: LocationNotices) -> None:
        marked.append(told)

    people = Worker(time_env.client, task_queue="cadence", workflows=[PeopleSyncWorkflow],
                    activities=[pending, mark])  # fmt: skip
    marketo = Worker(time_env.client, task_queue=MARKETO_QUEUE, activities=[sync])
    async with main, smtp, people, marketo:
        await wait_for_send(time_env, recorder, "a")
        result = await time_env.client.execute_workflow(
            PeopleSyncWorkflow.run, PeopleSyncInput(), id="people-sync", task_queue="cadence"
        )
        assert result.locations_told == 1  # the other one has ended: nothing to tell
        assert marked == [notices]
        state = await state_when(time_env, handle, "Asia/Tokyo")
        assert state.timezone_source == "override"
        await handle.result()
