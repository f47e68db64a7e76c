"""`cadence playbook simulate` runs the real workflow on the time-skipping server and agrees
with the calendar, for starts in the past and in the future."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cadence.playbooks import parse_playbook
from cadence.simulate import simulate
from tests.test_calendar import schedule

ROOT = Path(__file__).resolve().parents[1]
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


async def test_a_future_start_matches_the_calendar() -> None:
    playbook = parse_playbook(OUTBOUND.read_text())
    start = (datetime.now(UTC) + timedelta(days=9)).replace(microsecond=0)
    result = await simulate(playbook, start, "America/Los_Angeles", country="US")
    planned = schedule(playbook, start, "America/Los_Angeles", "US")
    assert [s.step for s in result.steps] == ["intro", "bump", "last"]
    for got, want in zip(result.steps, planned, strict=True):
        assert abs((got.at - want).total_seconds()) < 2, (got, want)
        assert got.at.utcoffset() == want.astimezone(got.at.tzinfo).utcoffset()
