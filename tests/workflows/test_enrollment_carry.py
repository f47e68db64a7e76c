"""Continue-as-new carries an enrollment's whole state (EnrollmentRunState): a field added to
the state is carried without more code, and a field kept outside it is caught here. Runs
continued by the older code (the state in EnrollmentInput's own fields) still resume."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from cadence.domain.contracts import (
    EndReason,
    EnrollmentInput,
    EnrollmentRunState,
    EnrollmentStatus,
    LocationChange,
    MarkSuccessRequest,
    MigrateRequest,
    RemoveRequest,
    StepRecord,
    TaskDone,
)
from cadence.domain.playbook_yaml import parse_playbook
from tests.utils.enrollment import (
    NY,
    ONLY_Z,
    THREE_OPEN,
    TUESDAY,
    Recorder,
    run_enrollment,
)
from tests.utils.factories import enrollment_input
from tests.utils.temporal import skip_to_local
from workflows.enrollment import EnrollmentWorkflow

AT = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)

# One value for every field of EnrollmentRunState, none of them its default. A field added to
# the state needs one here (the first test says so).
NOT_DEFAULT: dict[str, Any] = {
    "started_at": AT,
    "status": EnrollmentStatus.paused,
    "done": [StepRecord(step_id="a", status="sent", at=AT, message_id="<a@test>")],
    "day_shift": 2,
    "paused_at": AT + timedelta(hours=1),
    "pause_note": "vacation",
    "auto_resume_at": AT + timedelta(days=3),
    "rescheduled": {"b": AT + timedelta(days=2)},
    "current_step": "b",
    "next_due_at": AT + timedelta(days=1),
    "open_task": "b",
    "open_task_due": AT + timedelta(days=1),
    "task_done": TaskDone(step_id="b", outcome="connected"),
    "skip_requested": True,
    "interrupts": 7,
    "location_change": LocationChange(
        version=3, timezone="Asia/Tokyo", timezone_source="override", country="JP",
        country_source="override", holiday_dates=[date(2026, 12, 25)],
    ),
    "migration": MigrateRequest(version=2, playbook=parse_playbook(ONLY_Z), by_user_id=5),
    "removal": RemoveRequest(note="bad fit", by_user_id=5),
    "success": MarkSuccessRequest(note="booked", by_user_id=5),
    "inbound_end": EndReason.replied,
    "end_reason": EndReason.success,
    "blocked_reason": "missing value for {{company}}",
}  # fmt: skip


def _through_temporal(inp: EnrollmentInput) -> EnrollmentInput:
    """The input as the next run gets it: encoded and decoded by the data converter."""
    converter = pydantic_data_converter.payload_converter
    [decoded] = converter.from_payloads(converter.to_payloads([inp]), [EnrollmentInput])
    assert isinstance(decoded, EnrollmentInput)
    return decoded


def test_every_state_field_is_carried_through_continue_as_new() -> None:
    fields = EnrollmentRunState.model_fields
    assert set(NOT_DEFAULT) == set(fields), "give every state field a value in NOT_DEFAULT"
    for name, field in fields.items():
        default = field.get_default(call_default_factory=True)
        assert NOT_DEFAULT[name] != default, f"{name}: the value must differ from its default"
    state = EnrollmentRunState(**NOT_DEFAULT)
    run = EnrollmentWorkflow(enrollment_input(THREE_OPEN))
    run.st = state
    continued = EnrollmentWorkflow(_through_temporal(run.inp.continued(run.st)))
    assert continued.st == state
    for name in fields:
        assert getattr(continued.st, name) == NOT_DEFAULT[name], name


# A run's own attributes, derived from its input or never carried (the status write in
# flight ends with the run; after continue-as-new the row's status is not known).
RUN_ONLY = {
    "inp", "st", "tz", "tz_source", "calendar", "first_day", "status_in_database",
    "status_recorder", "finishing",
}  # fmt: skip


def test_the_workflow_keeps_its_state_in_the_state_model() -> None:
    """A new attribute of the workflow is not carried through continue-as-new: it belongs in
    EnrollmentRunState (or, when it is truly the run's own, in RUN_ONLY)."""
    run = EnrollmentWorkflow(enrollment_input(THREE_OPEN))
    assert set(vars(run)) == RUN_ONLY


def test_a_run_continued_by_the_older_code_resumes_from_its_fields() -> None:
    """Before the state model, continue-as-new carried seven fields of the input."""
    done = [StepRecord(step_id="a", status="sent", at=AT, message_id="<a@test>")]
    legacy = {
        "started_at": AT, "done": done, "day_shift": 1, "paused_at": AT, "pause_note": "carried",
        "auto_resume_at": AT + timedelta(days=2), "rescheduled": {"b": AT + timedelta(days=1)},
    }  # fmt: skip
    old = enrollment_input(THREE_OPEN).model_copy(update=legacy).model_dump(mode="json")
    old.pop("state")  # the older code's input had no such field
    run = EnrollmentWorkflow(EnrollmentInput.model_validate(old))
    assert run.st == EnrollmentRunState(status=EnrollmentStatus.paused, **legacy)
    assert run.status_in_database is None  # written once by the continued run


def test_a_continued_input_also_tells_workers_of_the_older_code() -> None:
    """During a deploy, a worker of the older code may take the continued run: it reads the
    input's own fields, so they say what the state says."""
    state = EnrollmentRunState(**NOT_DEFAULT)
    carried = _through_temporal(enrollment_input(THREE_OPEN).continued(state))
    as_old_code_reads_it = {
        "started_at": carried.started_at, "done": carried.done, "day_shift": carried.day_shift,
        "paused_at": carried.paused_at, "pause_note": carried.pause_note,
        "auto_resume_at": carried.auto_resume_at, "rescheduled": carried.rescheduled,
    }  # fmt: skip
    assert as_old_code_reads_it == {k: NOT_DEFAULT[k] for k in as_old_code_reads_it}


async def test_a_migration_not_taken_yet_is_taken_by_the_continued_run(
    time_env: WorkflowEnvironment,
) -> None:
    """An author's migration that came while the run continued as new is not lost."""
    now = await skip_to_local(time_env, "America/New_York", TUESDAY, time(10, 0))
    done = [StepRecord(step_id="a", status="sent", at=now, message_id="<a@test>")]
    pending = MigrateRequest(version=2, playbook=parse_playbook(ONLY_Z))
    state = EnrollmentRunState(started_at=now, done=done, migration=pending, current_step="a")
    inp = enrollment_input(THREE_OPEN).continued(state)
    recorder = Recorder()
    handle, main, smtp = await run_enrollment(time_env, recorder, inp)
    async with main, smtp:
        while not recorder.tasks:
            await time_env.sleep(timedelta(days=1))
        await handle.terminate("done")
    assert recorder.sends == []  # "b" and "c" of version 1 are not sent
    task, due = recorder.tasks[0]
    assert task.step_id == "z"
    assert due.astimezone(NY).date() == now.astimezone(NY).date() + timedelta(days=5)
