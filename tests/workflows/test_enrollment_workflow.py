"""EnrollmentWorkflow under the time-skipping test server, with recorded stand-in activities."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from cadence.domain.contracts import (
    EnrollmentState,
    InboundEvent,
    MarkSuccessRequest,
    MigrateRequest,
    PauseRequest,
    RemoveRequest,
    RescheduleRequest,
    ResumeRequest,
    SkipStepRequest,
    StepRecord,
    TaskDone,
)
from cadence.domain.playbook_yaml import parse_playbook
from tests.utils.enrollment import (
    ALWAYS_OPEN,
    NY,
    ONLY_Z,
    THREE_OPEN,
    TUESDAY,
    WITH_CALL,
    Recorder,
    run_enrollment,
    wait_for_send,
    wait_for_task,
)
from tests.utils.factories import THREE_EMAILS, enrollment_input
from tests.utils.temporal import skip_to_local
from workflows.enrollment import EnrollmentWorkflow


# An independent, plain statement of the calendar for a weekday 08:00-18:00 window.
def _next_weekday(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _window(moment: datetime) -> datetime:
    tz = moment.tzinfo
    day = moment.date()
    if day.weekday() < 5 and time(8) <= moment.time() < time(18):
        return moment
    if day.weekday() < 5 and moment.time() < time(8):
        return datetime.combine(day, time(8), tz)
    return datetime.combine(_next_weekday(day), time(8), tz)


def expected_schedule(start: datetime, zone: str) -> list[datetime]:
    local = start.astimezone(ZoneInfo(zone))
    day1 = local.date()
    while day1.weekday() >= 5:
        day1 += timedelta(days=1)
    day3 = _next_weekday(_next_weekday(day1))
    day5 = _next_weekday(_next_weekday(day3))
    intro = _window(local)
    follow = _window(max(intro, datetime.combine(day3, time(9), ZoneInfo(zone))))
    last = _window(max(follow, datetime.combine(day5, time(14, 30), ZoneInfo(zone))))
    return [intro, follow, last]


async def test_emails_go_out_on_business_days_at_local_times(time_env: WorkflowEnvironment) -> None:
    recorder = Recorder()
    inp = enrollment_input(timezone="America/New_York")
    start = await time_env.get_current_time()
    handle, main, smtp = await run_enrollment(time_env, recorder, inp)
    async with main, smtp:
        state = await handle.result()

    expected = expected_schedule(start, "America/New_York")
    sent_at = [at for _, at in recorder.sends]
    assert [s.step_id for s, _ in recorder.sends] == ["intro", "follow-up", "last"]
    for got, want in zip(sent_at, expected, strict=True):
        assert abs((got - want).total_seconds()) < 5, (got, want)
        assert got.astimezone(ZoneInfo("America/New_York")).weekday() < 5
    assert state.status == "completed" and state.end_reason == "finished"
    assert [r.step_id for r in state.steps] == ["intro", "follow-up", "last"]
    assert recorder.finished[0].status == "completed"


async def test_follow_up_threads_on_the_previous_email(time_env: WorkflowEnvironment) -> None:
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input())
    async with main, smtp:
        await handle.result()
    by_step = {s.step_id: s for s, _ in recorder.sends}
    assert by_step["intro"].in_reply_to is None
    assert by_step["follow-up"].in_reply_to == "<intro@test>"
    assert by_step["last"].in_reply_to is None


COPIES = """
name: Copies
settings: {skip_weekends: false, send_window: {start: "00:00", end: "23:59"}}
steps:
  - {id: a, day: 1, type: auto_email, send_at: immediately, subject: Hi, body: Hello,
     cc: [ae@seller.example], bcc: [log@crm.example]}
  - {id: b, day: 2, type: auto_email, subject: Receipt, body: Thanks, non_commercial: true}
"""


async def test_steps_carry_their_copies_and_commercial_flag(time_env: WorkflowEnvironment) -> None:
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(COPIES))
    async with main, smtp:
        await handle.result()
    by_step = {s.step_id: s for s, _ in recorder.sends}
    assert (by_step["a"].cc, by_step["a"].bcc, by_step["a"].commercial) == (
        ["ae@seller.example"], ["log@crm.example"], True
    )  # fmt: skip
    assert (by_step["b"].cc, by_step["b"].commercial) == ([], False)


async def test_removal_stops_the_cadence_and_is_recorded(time_env: WorkflowEnvironment) -> None:
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(ALWAYS_OPEN))
    async with main, smtp:
        await time_env.sleep(timedelta(hours=1))
        state = await handle.query(EnrollmentWorkflow.state)
        assert [r.step_id for r in state.steps] == ["a"]
        assert state.current_step == "b" and state.next_due_at is not None
        await handle.signal(EnrollmentWorkflow.remove, RemoveRequest(note="rep", by_user_id=3))
        final = await handle.result()
    assert [s.step_id for s, _ in recorder.sends] == ["a"]
    assert final.status == "removed" and final.end_reason == "removed" and final.end_note == "rep"
    assert recorder.finished[0].status == "removed" and recorder.finished[0].removed_by == 3


async def test_an_email_with_a_missing_field_becomes_a_task_for_the_rep(
    time_env: WorkflowEnvironment,
) -> None:
    recorder = Recorder(fail_steps=frozenset({"a"}))
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(ALWAYS_OPEN))
    async with main, smtp:
        await wait_for_task(time_env, recorder)
        task, _ = recorder.tasks[0]
        assert task.type == "manual_email" and task.priority == "high"
        assert task.title == "Fix and send: Hi"
        assert task.notes is not None
        assert task.notes.startswith("Not sent automatically: missing value for {{company}}")
        fixed = TaskDone(step_id="a", body="Fixed: Hello, and welcome.")
        await handle.execute_update(EnrollmentWorkflow.complete_task, fixed)
        final = await handle.result()
    assert [(r.step_id, r.status) for r in final.steps] == [("a", "sent"), ("b", "sent")]
    sent_a = [s for s, _ in recorder.sends if s.step_id == "a"]
    assert [s.body for s in sent_a] == ["Fixed: Hello, and welcome."]  # no mail with a hole


async def test_weekend_blackouts_and_holidays_are_not_sending_days(
    time_env: WorkflowEnvironment,
) -> None:
    start = (await time_env.get_current_time()).astimezone(ZoneInfo("Europe/Berlin")).date()
    blocked = [start + timedelta(days=i) for i in range(0, 10)]
    holiday = start + timedelta(days=10)
    playbook = THREE_EMAILS.replace(
        "  timezone: Europe/Berlin",
        "  timezone: Europe/Berlin\n  blackout_dates: [" + ", ".join(map(str, blocked)) + "]",
    )
    recorder = Recorder()
    inp = enrollment_input(playbook, timezone=None, holiday_dates=[holiday])
    handle, main, smtp = await run_enrollment(time_env, recorder, inp)
    async with main, smtp:
        await handle.result()
    for _, at in recorder.sends:
        local = at.astimezone(ZoneInfo("Europe/Berlin"))
        assert local.date() not in blocked and local.date() != holiday
        assert local.weekday() < 5
    assert recorder.sends[0][1].astimezone(ZoneInfo("Europe/Berlin")).date() > holiday


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "Pacific/Auckland", "America/Los_Angeles"])
async def test_the_lead_time_zone_decides(time_env: WorkflowEnvironment, zone: str) -> None:
    recorder = Recorder()
    start = await time_env.get_current_time()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(timezone=zone))
    async with main, smtp:
        state = await handle.result()
    assert state.timezone == zone
    expected = expected_schedule(start, zone)
    for (_, got), want in zip(recorder.sends, expected, strict=True):
        assert abs((got - want).total_seconds()) < 5


async def test_a_pause_holds_the_cadence_and_moves_later_steps_by_its_length(
    time_env: WorkflowEnvironment,
) -> None:
    recorder = Recorder()
    tz = ZoneInfo("America/New_York")
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(ALWAYS_OPEN))
    async with main, smtp:
        await time_env.sleep(timedelta(hours=1))
        paused = await handle.execute_update(
            EnrollmentWorkflow.pause, PauseRequest(note="vacation")
        )
        assert paused.status == "paused" and paused.paused_at is not None
        paused_on = paused.paused_at.astimezone(tz).date()
        with pytest.raises(WorkflowUpdateFailedError) as twice:
            await handle.execute_update(EnrollmentWorkflow.pause, PauseRequest())
        assert "only an active enrollment can be paused" in str(twice.value.cause)

        await time_env.sleep(timedelta(days=5))
        assert [s.step_id for s, _ in recorder.sends] == ["a"]  # b's Day 4 came and went
        resumed = await handle.execute_update(EnrollmentWorkflow.resume, ResumeRequest())
        resumed_on = (await time_env.get_current_time()).astimezone(tz).date()
        shift = (resumed_on - paused_on).days  # every day is a sending day here
        assert resumed.status == "active" and resumed.day_shift == shift
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(EnrollmentWorkflow.resume, ResumeRequest())
        final = await handle.result()
    sent = {s.step_id: at.astimezone(tz) for s, at in recorder.sends}
    day1 = sent["a"].date()
    assert sent["b"].date() == day1 + timedelta(days=3 + shift)  # Day 4, moved by the pause
    assert sent["b"].time().replace(microsecond=0) == time(9, 0)
    assert final.status == "completed"


async def test_a_paused_enrollment_can_be_removed(time_env: WorkflowEnvironment) -> None:
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(ALWAYS_OPEN))
    async with main, smtp:
        await time_env.sleep(timedelta(hours=1))
        await handle.execute_update(EnrollmentWorkflow.pause, PauseRequest())
        await handle.signal(EnrollmentWorkflow.remove, RemoveRequest(note="no longer a fit"))
        final = await handle.result()
    assert final.status == "removed" and final.end_reason == "removed"
    assert [s.step_id for s, _ in recorder.sends] == ["a"]


async def test_operators_read_what_the_enrollment_is_doing(time_env: WorkflowEnvironment) -> None:
    async def details(handle: WorkflowHandle[EnrollmentWorkflow, EnrollmentState]) -> str:
        metadata: WorkflowMetadata = await handle.query(
            "__temporal_workflow_metadata", result_type=WorkflowMetadata
        )
        return metadata.current_details

    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(ALWAYS_OPEN))
    async with main, smtp:
        await time_env.sleep(timedelta(hours=1))
        waiting = await details(handle)
        assert waiting.startswith("**Waiting** for step `b` (auto_email, Day 4), due ")
        assert "(America/New_York, from the lead's state). 1 of 2 steps done (sent: a)." in waiting
        await handle.execute_update(EnrollmentWorkflow.pause, PauseRequest(note="vacation"))
        paused = await details(handle)
        assert paused.startswith("**Paused** since ") and "(vacation); next step `b`" in paused
        await handle.execute_update(EnrollmentWorkflow.resume, ResumeRequest())
        await handle.result()
        assert await details(handle) == "**Completed** (finished). 2 of 2 steps done (sent: a, b)."


async def test_a_call_completed_late_moves_later_steps_by_the_delay(
    time_env: WorkflowEnvironment,
) -> None:
    # Enrolled on a Tuesday at 22:30, after the send window: the first email waits for
    # Wednesday morning, but Day 1 is still the Tuesday.
    start = await skip_to_local(time_env, "America/New_York", TUESDAY, time(22, 30))
    day1 = start.date()
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(WITH_CALL))
    async with main, smtp:
        await wait_for_task(time_env, recorder)
        task, created_at = recorder.tasks[0]
        assert (
            task.step_id == "call" and task.type == "call" and task.title == "Call {{first_name}}"
        )
        assert created_at.astimezone(NY).time().replace(microsecond=0) == time(9, 0)  # due
        state = await handle.query(EnrollmentWorkflow.state)
        assert state.open_task == "call"
        with pytest.raises(WorkflowUpdateFailedError) as wrong:
            await handle.execute_update(EnrollmentWorkflow.complete_task, TaskDone(step_id="bump"))
        assert "the open task is for step 'call'" in str(wrong.value.cause)

        await time_env.sleep(timedelta(days=2))  # the rep calls two days late
        done = TaskDone(step_id="call", outcome="connected", notes="interested", by_user_id=3)
        await handle.execute_update(EnrollmentWorkflow.complete_task, done)
        final = await handle.result()
    due_day = task.due_at.astimezone(NY).date()
    completed = next(r for r in final.steps if r.step_id == "call")
    late = (completed.at.astimezone(NY).date() - due_day).days
    assert late == 2 and completed.status == "completed" and completed.reason == "connected"
    assert recorder.closed[0].status == "completed" and recorder.closed[0].notes == "interested"
    intro_at = next(at for s, at in recorder.sends if s.step_id == "intro").astimezone(NY)
    assert intro_at.date() == day1 + timedelta(days=1) and intro_at.hour == 8  # the window opens
    assert due_day == day1 + timedelta(days=1)  # Day 2
    bump_at = next(at for s, at in recorder.sends if s.step_id == "bump").astimezone(NY)
    assert bump_at.date() == day1 + timedelta(days=3 + late)  # Day 4, moved by the delay
    assert bump_at.time().replace(microsecond=0) == time(10, 0)
    assert final.day_shift == late


async def test_an_untouched_task_is_skipped_after_autoskip_after(
    time_env: WorkflowEnvironment,
) -> None:
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(WITH_CALL))
    async with main, smtp:
        final = await handle.result()
    call = next(r for r in final.steps if r.step_id == "call")
    _, created_at = recorder.tasks[0]
    assert call.status == "skipped" and call.reason == "auto-skipped after 3d"
    assert abs((call.at - created_at) - timedelta(days=3)) < timedelta(seconds=5)
    assert recorder.closed[0].status == "skipped"
    assert final.day_shift == 0 and [r.step_id for r in final.steps] == ["intro", "call", "bump"]


async def test_removal_cancels_the_open_task(time_env: WorkflowEnvironment) -> None:
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(WITH_CALL))
    async with main, smtp:
        await wait_for_task(time_env, recorder)
        await handle.signal(EnrollmentWorkflow.remove, RemoveRequest(note="bad fit"))
        final = await handle.result()
    assert final.status == "removed" and [r.step_id for r in final.steps] == ["intro"]
    assert recorder.closed[0].status == "cancelled"
    assert [s.step_id for s, _ in recorder.sends] == ["intro"]


async def test_the_timeline_shows_done_due_and_planned_steps(time_env: WorkflowEnvironment) -> None:
    start = await skip_to_local(time_env, "America/New_York", TUESDAY, time(10, 0))
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(WITH_CALL))
    async with main, smtp:
        await wait_for_task(time_env, recorder)
        timeline = await handle.query(EnrollmentWorkflow.timeline)
        assert [(e.step_id, e.status) for e in timeline] == [
            ("intro", "sent"), ("call", "task_open"), ("bump", "planned"),
        ]  # fmt: skip
        intro, call, bump = timeline
        task, _ = recorder.tasks[0]
        assert intro.at is not None and abs(intro.at - start) < timedelta(seconds=5)
        assert (
            call.at
            == task.due_at
            == datetime.combine(start.date() + timedelta(days=1), time(9), NY)
        )
        assert bump.at == datetime.combine(start.date() + timedelta(days=3), time(10, 0), NY)
        await handle.signal(EnrollmentWorkflow.remove, RemoveRequest())
        await handle.result()
        ended = await handle.query(EnrollmentWorkflow.timeline)
    assert [(e.step_id, e.status) for e in ended] == [
        ("intro", "sent"), ("call", "not_reached"), ("bump", "not_reached"),
    ]  # fmt: skip


async def test_operators_skip_reschedule_and_mark_success(time_env: WorkflowEnvironment) -> None:
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(THREE_OPEN))
    async with main, smtp:
        await wait_for_send(time_env, recorder, "a")
        with pytest.raises(WorkflowUpdateFailedError) as wrong:
            await handle.execute_update(EnrollmentWorkflow.skip_step, SkipStepRequest(step_id="c"))
        assert "waits for step 'b', not 'c'" in str(wrong.value.cause)
        await handle.execute_update(EnrollmentWorkflow.skip_step, SkipStepRequest(step_id="b"))
        state = await handle.query(EnrollmentWorkflow.state)
        assert state.current_step == "c" and [r.status for r in state.steps] == ["sent", "skipped"]

        now = await time_env.get_current_time()
        with pytest.raises(WorkflowUpdateFailedError) as past:
            await handle.execute_update(
                EnrollmentWorkflow.reschedule, RescheduleRequest(step_id="c", at=now)
            )
        assert "in the past" in str(past.value.cause)
        local_now = now.astimezone(NY)
        tomorrow_noon = datetime.combine(local_now.date() + timedelta(days=1), time(12, 0), NY)
        moved = await handle.execute_update(
            EnrollmentWorkflow.reschedule, RescheduleRequest(step_id="c", at=tomorrow_noon)
        )
        assert moved.next_due_at == tomorrow_noon
        await time_env.sleep(timedelta(days=2))
        assert [s.step_id for s, _ in recorder.sends] == ["a", "c"]
        c_at = next(at for s, at in recorder.sends if s.step_id == "c")
        assert abs(c_at - tomorrow_noon) < timedelta(seconds=5)
        final = await handle.result()
    assert final.status == "completed" and final.end_reason == "finished"


async def test_mark_success_ends_the_enrollment(time_env: WorkflowEnvironment) -> None:
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(THREE_OPEN))
    async with main, smtp:
        await wait_for_send(time_env, recorder, "a")
        await handle.execute_update(
            EnrollmentWorkflow.mark_success, MarkSuccessRequest(note="meeting booked")
        )
        final = await handle.result()
        with pytest.raises(Exception):  # noqa: B017 - the workflow has ended
            await handle.execute_update(EnrollmentWorkflow.mark_success, MarkSuccessRequest())
    assert final.status == "completed" and final.end_reason == "success"
    assert final.end_note == "meeting booked"
    assert [s.step_id for s, _ in recorder.sends] == ["a"]
    assert recorder.finished[0].end_reason == "success"


VERSION_2 = """
name: Three, always open (v2)
settings: {skip_weekends: false, holidays: "off", send_window: {start: "08:00", end: "18:00"}}
steps:
  - {id: a, day: 1, type: auto_email, send_at: immediately, subject: Hi, body: Hello}
  - {id: b2, day: 2, type: auto_email, send_at: "09:30", subject: New, body: A new second step}
  - {id: c, day: 6, type: auto_email, send_at: "11:00", subject: Last, body: Bye}
"""


async def test_a_migrated_enrollment_continues_on_the_new_version_by_step_id(
    time_env: WorkflowEnvironment,
) -> None:
    start = await skip_to_local(time_env, "America/New_York", TUESDAY, time(10, 0))
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(THREE_OPEN))
    v2 = parse_playbook(VERSION_2)
    async with main, smtp:
        await wait_for_send(time_env, recorder, "a")
        with pytest.raises(WorkflowUpdateFailedError) as same:
            await handle.execute_update(
                EnrollmentWorkflow.migrate, MigrateRequest(version=1, playbook=v2)
            )
        assert "on version 1 already" in str(same.value.cause)
        await handle.execute_update(
            EnrollmentWorkflow.migrate, MigrateRequest(version=2, playbook=v2)
        )
        final = await handle.result()
    sent = {s.step_id: at.astimezone(NY) for s, at in recorder.sends}
    # "b" (v1, Day 3) was waiting when the migration came: that is the step boundary, so it
    # still runs. v2 then goes on after its last step already done, "a": b2 is new (and
    # overdue, so it goes at once), then "c" on its v2 day.
    assert list(sent) == ["a", "b", "b2", "c"]
    day1 = start.date()
    assert abs(sent["a"] - start) < timedelta(seconds=5)
    assert sent["b2"] - sent["b"] < timedelta(minutes=1)
    assert sent["c"].date() == day1 + timedelta(days=5) and sent["c"].time().hour == 11
    assert [r.step_id for r in final.steps] == ["a", "b", "b2", "c"]
    assert recorder.sends[-1][0].subject == "Last"


async def test_a_continued_run_goes_on_from_the_carried_state(
    time_env: WorkflowEnvironment,
) -> None:
    """What continue-as-new carries (start, steps done, day shift) is enough to go on."""
    started = await time_env.get_current_time() - timedelta(days=1)
    done = [StepRecord(step_id="a", status="sent", at=started, message_id="<a@test>")]
    inp = enrollment_input(THREE_OPEN).model_copy(
        update={"started_at": started, "done": done, "day_shift": 1}
    )
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, inp)
    async with main, smtp:
        final = await handle.result()
    assert [s.step_id for s, _ in recorder.sends] == ["b", "c"]  # "a" is not sent again
    day1 = started.astimezone(NY).date()
    sent = {s.step_id: at.astimezone(NY) for s, at in recorder.sends}
    assert sent["b"].date() == day1 + timedelta(days=3)  # Day 3 + the carried shift of 1
    assert sent["c"].date() == day1 + timedelta(days=5)
    assert [r.step_id for r in final.steps] == ["a", "b", "c"] and final.day_shift == 1


WITH_MANUAL = """
name: Manual email
settings: {skip_weekends: false, holidays: "off", default_send_time: "00:00",
           send_window: {start: "00:00", end: "23:59"}}
steps:
  - {id: a, day: 1, type: auto_email, send_at: immediately, subject: Hi, body: Hello}
  - {id: m, day: 1, type: manual_email, thread: true,
     body: "Hi {{first_name}}, {{! a personal opener}}"}
"""


async def test_a_manual_email_goes_out_when_the_rep_has_filled_it_in(
    time_env: WorkflowEnvironment,
) -> None:
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(WITH_MANUAL))
    async with main, smtp:
        await wait_for_task(time_env, recorder)
        task, _ = recorder.tasks[0]
        assert task.type == "manual_email" and task.title == "Email: reply in the thread"
        assert task.notes == "Hi {{first_name}}, {{! a personal opener}}"  # the draft
        with pytest.raises(WorkflowUpdateFailedError) as unfilled:
            await handle.execute_update(EnrollmentWorkflow.complete_task, TaskDone(step_id="m"))
        assert "fill in the email before sending" in str(unfilled.value.cause)
        final_body = "Hi {{first_name}}, loved your talk at the meetup."
        await handle.execute_update(
            EnrollmentWorkflow.complete_task, TaskDone(step_id="m", body=final_body)
        )
        final = await handle.result()
    manual = next(s for s, _ in recorder.sends if s.step_id == "m")
    assert manual.body == final_body and manual.in_reply_to == "<a@test>"
    assert [(r.step_id, r.status) for r in final.steps] == [("a", "sent"), ("m", "sent")]
    assert recorder.closed[0].status == "completed"


def _settings_playbook(extra: str) -> str:
    return THREE_OPEN.replace(
        'send_window: {start: "08:00", end: "18:00"}}',
        f'send_window: {{start: "08:00", end: "18:00"}}, {extra}}}',
    )


@pytest.mark.parametrize(
    ("extra", "kind", "status", "reason"),
    [
        ("on_reply: end", "reply", "completed", "replied"),
        ("on_reply: end_success", "reply", "completed", "replied_success"),
        ("remove_on_bounce: true", "bounce", "completed", "bounced"),
        ("remove_on_bounce: true", "unsubscribe", "completed", "unsubscribed"),
    ],
)
async def test_replies_bounces_and_unsubscribes_end_the_enrollment(
    time_env: WorkflowEnvironment, extra: str, kind: str, status: str, reason: str
) -> None:
    recorder = Recorder()
    inp = enrollment_input(_settings_playbook(extra))
    handle, main, smtp = await run_enrollment(time_env, recorder, inp)
    async with main, smtp:
        await wait_for_send(time_env, recorder, "a")
        await handle.signal(EnrollmentWorkflow.inbound, InboundEvent(kind=kind))
        final = await handle.result()
    assert (final.status, final.end_reason) == (status, reason)
    assert [s.step_id for s, _ in recorder.sends] == ["a"]


async def test_a_bounce_is_ignored_when_remove_on_bounce_is_off(
    time_env: WorkflowEnvironment,
) -> None:
    recorder = Recorder()
    inp = enrollment_input(_settings_playbook("remove_on_bounce: false"))
    handle, main, smtp = await run_enrollment(time_env, recorder, inp)
    async with main, smtp:
        await wait_for_send(time_env, recorder, "a")
        await handle.signal(EnrollmentWorkflow.inbound, InboundEvent(kind="bounce"))
        await handle.signal(EnrollmentWorkflow.inbound, InboundEvent(kind="out_of_office"))
        final = await handle.result()
    assert final.end_reason == "finished"  # and an out-of-office answer is ignored by default
    assert [s.step_id for s, _ in recorder.sends] == ["a", "b", "c"]


async def test_out_of_office_pauses_until_the_morning_after_the_return_date(
    time_env: WorkflowEnvironment,
) -> None:
    recorder = Recorder()
    extra = "on_ooo: {action: pause_until_return, default_days: 7, max_days: 21}"
    start = await skip_to_local(time_env, "America/New_York", TUESDAY, time(10, 0))
    handle, main, smtp = await run_enrollment(
        time_env, recorder, enrollment_input(_settings_playbook(extra))
    )
    async with main, smtp:
        await wait_for_send(time_env, recorder, "a")
        today = start.date()
        back = today + timedelta(days=4)
        await handle.signal(
            EnrollmentWorkflow.inbound, InboundEvent(kind="out_of_office", return_date=back)
        )
        state = await handle.query(EnrollmentWorkflow.state)
        assert state.status == "paused"
        final = await handle.result()
    sent = {s.step_id: at.astimezone(NY) for s, at in recorder.sends}
    # Resumed at 08:00 on the return date; b (Day 3) moved by the 4 sending days paused.
    paused_days = (back - today).days
    assert sent["a"].date() == today
    assert sent["b"].date() == today + timedelta(days=2 + paused_days)
    assert sent["b"].time().replace(microsecond=0) == time(10, 0)
    assert final.end_reason == "finished" and final.day_shift == paused_days


async def test_a_carried_pause_and_reschedule_survive_continue_as_new(
    time_env: WorkflowEnvironment,
) -> None:
    now = await time_env.get_current_time()
    started = now - timedelta(hours=1)
    done = [StepRecord(step_id="a", status="sent", at=started, message_id="<a@test>")]
    noon = datetime.combine(now.astimezone(NY).date() + timedelta(days=5), time(12, 0), NY)
    inp = enrollment_input(THREE_OPEN).model_copy(
        update={"started_at": started, "done": done, "paused_at": now, "pause_note": "carried",
                "rescheduled": {"b": noon}}
    )  # fmt: skip
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, inp)
    async with main, smtp:
        await time_env.sleep(timedelta(days=3))
        state = await handle.query(EnrollmentWorkflow.state)
        assert state.status == "paused" and recorder.sends == []
        assert recorder.statuses == ["paused"]  # the continued run tells the database
        await handle.execute_update(EnrollmentWorkflow.resume, ResumeRequest())
        final = await handle.result()
    sent = {s.step_id: at for s, at in recorder.sends}
    assert abs(sent["b"] - noon) < timedelta(seconds=5)  # the carried reschedule holds
    assert final.status == "completed" and recorder.statuses == ["paused", "active"]


OPEN_ABC = """
name: Always open, three steps
settings: {skip_weekends: false, holidays: "off", send_window: {start: "00:00", end: "23:59"}}
steps:
  - {id: a, day: 1, type: auto_email, send_at: immediately, subject: Hi, body: Hello}
  - {id: b, day: 2, type: auto_email, subject: Again, body: Hello again}
  - {id: c, day: 4, type: auto_email, subject: Last, body: Bye}
"""


async def test_the_timeline_labels_done_steps_by_id_after_a_migration(
    time_env: WorkflowEnvironment,
) -> None:
    """Steps done on the old version keep their own type and day, even when the new version
    has no step of that id (or fewer steps than are done)."""
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(OPEN_ABC))
    async with main, smtp:
        await wait_for_send(time_env, recorder, "a")
        await handle.execute_update(
            EnrollmentWorkflow.migrate, MigrateRequest(version=2, playbook=parse_playbook(ONLY_Z))
        )
        await wait_for_send(time_env, recorder, "b")  # the step waiting at the migration
        timeline = []
        for _ in range(20):  # until the workflow has recorded "b" and moved on to "z"
            timeline = await handle.query(EnrollmentWorkflow.timeline)
            if [e.step_id for e in timeline] == ["a", "b", "z"] and timeline[2].status == "due":
                break
            await time_env.sleep(timedelta(minutes=1))
        assert [(e.step_id, e.type, e.day, e.status) for e in timeline] == [
            ("a", "auto_email", 1, "sent"), ("b", "auto_email", 2, "sent"), ("z", "call", 6, "due"),
        ]  # fmt: skip
        await handle.signal(EnrollmentWorkflow.remove, RemoveRequest())
        await handle.result()
        ended = await handle.query(EnrollmentWorkflow.timeline)
    assert [(e.step_id, e.status) for e in ended] == [
        ("a", "sent"), ("b", "sent"), ("z", "not_reached"),
    ]  # fmt: skip


async def test_pauses_and_resumes_are_written_to_the_database(
    time_env: WorkflowEnvironment,
) -> None:
    """The workflow records each status change itself (durably, as a local activity); the
    end is written once, by finish_enrollment."""
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, enrollment_input(ALWAYS_OPEN))
    async with main, smtp:
        await time_env.sleep(timedelta(hours=1))
        await handle.execute_update(EnrollmentWorkflow.pause, PauseRequest())
        await time_env.sleep(timedelta(hours=1))
        assert recorder.statuses == ["paused"]
        await handle.execute_update(EnrollmentWorkflow.resume, ResumeRequest())
        await handle.execute_update(EnrollmentWorkflow.pause, PauseRequest())
        await handle.signal(EnrollmentWorkflow.remove, RemoveRequest())
        final = await handle.result()
    assert recorder.statuses == ["paused", "active", "paused"]
    assert final.status == "removed" and [f.status for f in recorder.finished] == ["removed"]
