"""The Temporal binaries beside this Python, and pinning "now" on the time-skipping server."""

from __future__ import annotations

import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from temporalio.testing import WorkflowEnvironment

BIN = Path(sys.executable).parent
TEMPORAL_CLI = BIN / "temporal"
TEST_SERVER = BIN / "temporal-test-server"


async def skip_to_local(env: WorkflowEnvironment, zone: str, weekday: int, clock: time) -> datetime:
    """Pin "now" for a test on the time-skipping server: skip its clock forward to the next
    ``weekday`` (0 is Monday) at ``clock`` in ``zone``, at least a day ahead, and return that
    instant. What the test then expects no longer depends on when the suite runs."""
    now = await env.get_current_time()
    day = now.astimezone(ZoneInfo(zone)).date() + timedelta(days=1)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    target = datetime.combine(day, clock, ZoneInfo(zone))
    await env.sleep(target - now)
    return target
