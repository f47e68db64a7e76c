"""Updates and signals are sent to an enrollment by the workflow's own method, typed: passing
a name, another handler's request, or a signal where an update is due is a mypy error."""

from __future__ import annotations

import re
from pathlib import Path

from mypy import api as mypy_api

ROOT = Path(__file__).resolve().parents[2]

CALLS = """
from typing import Any

from api.enrollment_calls import signal_enrollment, update_enrollment
from cadence.domain.contracts import PauseRequest, RemoveRequest, ResumeRequest
from workflows.enrollment import EnrollmentWorkflow


async def calls(session: Any, temporal: Any, row: Any) -> None:
    s, t = session, temporal
    await update_enrollment(s, t, row, EnrollmentWorkflow.pause, PauseRequest())
    await signal_enrollment(s, t, row, EnrollmentWorkflow.remove, RemoveRequest())
    await update_enrollment(s, t, row, "pause", PauseRequest())  # wrong
    await update_enrollment(s, t, row, EnrollmentWorkflow.pause, ResumeRequest())  # wrong
    await update_enrollment(s, t, row, EnrollmentWorkflow.remove, RemoveRequest())  # wrong
    await signal_enrollment(s, t, row, EnrollmentWorkflow.remove, PauseRequest())  # wrong
"""


def test_a_wrong_update_or_signal_argument_is_a_type_error(tmp_path: Path) -> None:
    module = tmp_path / "calls.py"
    module.write_text(CALLS)
    out, err, _ = mypy_api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), "--no-error-summary", str(module)]
    )
    assert not err, err
    flagged = {int(m) for m in re.findall(r"calls\.py:(\d+): error", out)}
    wrong = {n for n, line in enumerate(CALLS.splitlines(), 1) if line.endswith("# wrong")}
    assert flagged == wrong, out
