"""`cadence playbook simulate` runs the real workflow on the time-skipping server and agrees
with the calendar, for starts in the past and in the future."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from api.enrolling import start_workflows
from cadence.cli.simulate import load_events, simulate
from cadence.core.auth import create_user
from cadence.core.config import get_settings
from cadence.core.db import get_engine
from cadence.core.models import Campaign, CampaignVersion, Person, Role
from cadence.domain.playbook_yaml import parse_playbook
from cadence.services.enrolling import prepare
from devstack.sink import serve
from tests.utils.api import unique_person_id
from tests.utils.calendar import schedule
from tests.utils.net import free_port
from worker import main_worker, smtp_worker
from workflows.enrollment import EnrollmentWorkflow

ROOT = Path(__file__).resolve().parents[2]
CADENCE = Path(sys.executable).parent / "cadence"
OUTBOUND = ROOT / "playbooks" / "outbound.yaml"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CADENCE), "playbook", "simulate", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_prints_each_step_in_the_leads_zone_across_a_dst_change() -> None:
    done = run_cli(str(OUTBOUND), "--start", "2026-03-27T06:00:00Z", "--lead-tz",
                   "Europe/Berlin", "--country", "DE", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {"step": "intro", "type": "auto_email", "at": "2026-03-27T08:00:00+01:00"},
        {"step": "bump", "type": "auto_email", "at": "2026-03-31T09:00:00+02:00"},
        {"step": "last", "type": "auto_email", "at": "2026-04-02T14:30:00+02:00"},
    ]
    assert done.stderr == ""  # no SDK noise for authors


def test_cli_table_and_errors() -> None:
    table = run_cli(str(OUTBOUND), "--start", "2026-12-23T09:00:00+01:00", "--country", "DE")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "Time zone Europe/Berlin"  # the playbook's default zone
    assert "2026-12-23 09:00" in lines[1] and "intro" in lines[1]
    assert lines[-1] == "Ends: completed (finished)"
    bad = run_cli(str(OUTBOUND), "--start", "2026-12-23T09:00:00")
    assert bad.returncode == 1 and "--start" in bad.stderr and "offset" in bad.stderr


def test_an_unknown_zone_or_country_is_an_error_naming_the_option() -> None:
    """Not the silent fallback of a lead's record: the author asked for this zone."""
    start = ("--start", "2026-12-01T09:00:00Z")
    mars = run_cli(str(OUTBOUND), *start, "--lead-tz", "Mars/Olympus")
    assert mars.returncode == 1 and mars.stdout == ""
    assert mars.stderr == (
        "--lead-tz: unknown time zone 'Mars/Olympus'; use an IANA name such as Europe/Berlin\n"
    )
    owner = run_cli(str(OUTBOUND), *start, "--owner-tz", "europe/berlin")
    assert owner.returncode == 1
    assert owner.stderr.startswith("--owner-tz: unknown time zone 'europe/berlin'; did you mean "
                                   "'Europe/Berlin'?")  # fmt: skip
    country = run_cli(str(OUTBOUND), *start, "--country", "XX", "--lead-tz", "Europe/Berlin")
    assert country.returncode == 1 and country.stdout == ""
    assert country.stderr.startswith("--country: no public holidays are known for 'XX'; ")
    assert ", DE, " in country.stderr and ", US, " in country.stderr  # the known ones
    lower = run_cli(str(OUTBOUND), *start, "--country", "de", "--json")
    assert lower.returncode == 0, lower.stderr  # (a code in any case)


TASK_STEPS = """\
name: Every kind of step
settings: {timezone: Europe/Berlin, holidays: "off"}
steps:
  - {id: intro, day: 1, type: auto_email, send_at: immediately, subject: Hi, body: Hello}
  - {id: note, day: 2, type: manual_email, thread: true, body: "{{! a personal opener}}"}
  - {id: ring, day: 3, type: call, title: Call}
  - {id: bump, day: 4, type: auto_email, send_at: same_as_previous, thread: true, body: Bump}
"""


def test_each_step_is_listed_once_in_order(tmp_path: Path) -> None:
    """A manual email is a task that then sends: still one entry, when it fell due."""
    playbook = tmp_path / "steps.yaml"
    playbook.write_text(TASK_STEPS)
    start = ("--start", "2026-11-23T06:30:00Z")  # Monday, 07:30 in Berlin
    as_json = run_cli(str(playbook), *start, "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == [
        {"step": "intro", "type": "auto_email", "at": "2026-11-23T08:00:00+01:00"},
        {"step": "note", "type": "manual_email", "at": "2026-11-24T09:00:00+01:00"},
        {"step": "ring", "type": "call", "at": "2026-11-25T09:00:00+01:00"},
        {"step": "bump", "type": "auto_email", "at": "2026-11-26T09:00:00+01:00"},
    ]
    table = run_cli(str(playbook), *start)
    assert table.returncode == 0, table.stderr
    rows = [line.split() for line in table.stdout.splitlines()[1:-1]]
    assert [(row[2], row[4], row[5]) for row in rows] == [
        ("08:00", "intro", "auto_email"), ("09:00", "note", "manual_email"),
        ("09:00", "ring", "call"), ("09:00", "bump", "auto_email"),
    ]  # fmt: skip
    assert [row[1] for row in rows] == ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26"]


async def test_a_future_start_matches_the_calendar() -> None:
    playbook = parse_playbook(OUTBOUND.read_text())
    start = (datetime.now(UTC) + timedelta(days=9)).replace(microsecond=0)
    result = await simulate(playbook, start, "America/Los_Angeles", country="US")
    planned = schedule(playbook, start, "America/Los_Angeles", "US")
    assert [s.step for s in result.steps] == ["intro", "bump", "last"]
    for got, want in zip(result.steps, planned, strict=True):
        assert abs((got.at - want).total_seconds()) < 2, (got, want)
        assert got.at.utcoffset() == want.astimezone(got.at.tzinfo).utcoffset()


async def test_simulate_agrees_with_the_running_system(
    database: str, dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real enrollment on the dev server whose send window opens at the next minute: the
    emails go out when simulate says they will."""
    now = datetime.now(UTC)
    zone = next(z for z in ("UTC", "Asia/Tokyo", "America/New_York")
                if 1 <= now.astimezone(ZoneInfo(z)).hour <= 21)  # fmt: skip
    opening = (now.astimezone(ZoneInfo(zone)) + timedelta(minutes=1)).replace(
        second=0, microsecond=0
    )
    closing = opening + timedelta(minutes=30)
    playbook_yaml = (
        "name: Short window\n"
        "settings: {skip_weekends: false, holidays: 'off', send_window: "
        f"{{start: '{opening:%H:%M}', end: '{closing:%H:%M}'}}}}\n"
        "steps:\n"
        "  - {id: intro, day: 1, type: auto_email, send_at: immediately, subject: Hi, body: x}\n"
        "  - {id: bump, day: 1, type: auto_email, send_at: same_as_previous, thread: true,\n"
        "     body: y}\n"
    )
    smtp_port, http_port = free_port(), free_port()
    monkeypatch.setenv("CADENCE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CADENCE_SMTP_PORT", str(smtp_port))
    get_settings.cache_clear()
    sink = asyncio.create_task(serve(tmp_path / "mail", smtp_port, http_port))
    with Session(get_engine()) as session:
        owner, _ = create_user(session, name="Rita", email="rita@seller.example", role=Role.rep)
        person = Person(id=unique_person_id(), email="ada@example.com", timezone=zone)
        campaign = Campaign(name="Short window", created_by=owner.id)
        session.add_all([person, campaign])
        session.flush()
        assert campaign.id is not None
        playbook = parse_playbook(playbook_yaml)
        session.add(CampaignVersion(campaign_id=campaign.id, version=1, source_yaml=playbook_yaml,
                                    playbook=playbook.model_dump(mode="json"),
                                    created_by=owner.id))  # fmt: skip
        session.commit()
        outcomes = prepare(session, campaign, [person], owner)
    started = outcomes[0].start
    assert started is not None and started.started_at is None
    main = main_worker(dev_env.client, get_settings())
    try:
        async with main, smtp_worker(dev_env.client, get_settings()):
            enrolled_at = datetime.now(UTC)
            await start_workflows(dev_env.client, outcomes)
            handle = dev_env.client.get_workflow_handle_for(
                EnrollmentWorkflow.run, outcomes[0].workflow_id or ""
            )
            state = await asyncio.wait_for(handle.result(), timeout=150)
    finally:
        sink.cancel()
        await asyncio.gather(sink, return_exceptions=True)
    plan = await simulate(playbook, enrolled_at, zone)
    assert [s.step_id for s in state.steps] == [s.step for s in plan.steps] == ["intro", "bump"]
    for real, planned in zip(state.steps, plan.steps, strict=True):
        assert real.status == "sent"
        assert abs((real.at - planned.at).total_seconds()) < 5, (real.at, planned.at)
    assert plan.steps[0].at == opening


async def test_events_pause_resume_and_a_late_task_move_the_plan() -> None:
    playbook = parse_playbook((ROOT / "playbooks" / "outbound-with-call.yaml").read_text())
    events = load_events(
        "- {at: '2026-12-04T15:00:00+01:00', type: complete_task, step: call-1}\n"
        "- {at: '2026-11-30T10:00:00+01:00', type: pause, note: trade fair}\n"
        "- {at: '2026-12-02T12:00:00+01:00', type: resume}\n"
    )
    start = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)  # Friday, 08:00 in Berlin
    result = await simulate(playbook, start, None, country="DE", events=events)
    assert [(s.step, s.at.isoformat()) for s in result.steps] == [
        ("intro", "2026-11-27T08:00:00+01:00"),
        ("call-1", "2026-12-03T09:00:00+01:00"),  # Day 3, moved 2 sending days by the pause
        ("bump", "2026-12-08T08:00:00+01:00"),  # Day 5, moved 2 + 1 (the call was a day late)
    ]
    assert (result.status, result.end_reason) == ("completed", "finished")


def test_events_that_cannot_be_simulated_are_refused(tmp_path: Path) -> None:
    events = tmp_path / "events.yaml"
    events.write_text("- {at: '2026-11-30T10:00:00+01:00', type: call_back}\n")
    done = run_cli(str(OUTBOUND), "--start", "2026-11-27T07:00:00Z", "--events", str(events))
    assert done.returncode == 1 and "unknown event type 'call_back'" in done.stderr
    events.write_text("- {at: '2026-11-30T10:00:00+01:00', type: resume}\n")
    refused = run_cli(str(OUTBOUND), "--start", "2026-11-27T07:00:00Z", "--events", str(events))
    assert refused.returncode == 1
    assert "only a paused enrollment can be resumed" in refused.stderr


async def test_an_out_of_office_then_a_reply() -> None:
    playbook = parse_playbook((ROOT / "playbooks" / "outbound-with-call.yaml").read_text())
    playbook = playbook.model_copy(
        update={
            "settings": playbook.settings.model_copy(
                update={"on_ooo": playbook.settings.on_ooo.model_copy(
                    update={"action": "pause_until_return"})}
            )
        }
    )  # fmt: skip
    events = load_events(
        "- {at: '2026-11-27T09:00:00+01:00', type: out_of_office, return_date: 2026-12-07}\n"
        "- {at: '2026-12-09T12:00:00+01:00', type: reply}\n"
    )
    start = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
    result = await simulate(playbook, start, None, country="DE", events=events)
    # The call (Day 3) waits for the return: the enrollment resumes on Monday 7 December at
    # 08:00, the call moved by the 6 sending days away (Day 9); a reply then ends it.
    assert [(s.step, s.at.isoformat()) for s in result.steps] == [
        ("intro", "2026-11-27T08:00:00+01:00"),
        ("call-1", "2026-12-09T09:00:00+01:00"),
    ]
    assert (result.status, result.end_reason) == ("completed", "replied")
