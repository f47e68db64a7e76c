"""The README's walkthrough works as written: every command of its ```sh blocks runs in bash
against `make run` on free ports (the README's ports replaced by the test's), in the stack's
own folder, and succeeds (an HTTP error fails it: curl runs with --fail-with-body). Then what
the walkthrough promises holds, at whatever hour the test runs: Ada is synced and enrolled, the
first email is in the sink or waits for the send window, her answer ends the enrollment as
replied, Temporal lists the enrollment's workflow, and no file is left behind."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.utils.live_stack import ROOT, Stack, eventually, write_config

pytestmark = pytest.mark.e2e
README = ROOT / "README.md"
STEP = re.compile(r"^# (\d+)\. ", re.M)


def walkthrough_blocks(readme: str) -> list[str]:
    """The ```sh blocks of the README's "## Walkthrough" (up to its first subsection: those
    describe each feature, with placeholders of their own)."""
    section = readme.split("\n## Walkthrough\n", 1)[1].split("\n## ", 1)[0].split("\n### ")[0]
    return re.findall(r"^```sh\n(.*?)^```", section, re.M | re.S)


def steps(block: str) -> list[tuple[str, str]]:
    """(number, commands) for each "# N. ..." step of a block; what comes before is step 0."""
    found = []
    for part in re.split(r"^(?=# \d+\. )", block, flags=re.M):
        number = STEP.match(part)
        found.append((number.group(1) if number else "0", part))
    return found


def local_ports(text: str, stack: Stack) -> str:
    """The README's ports (temporal-dev.yaml's) replaced by the running stack's."""
    cfg = stack.cfg
    ports = {
        8000: cfg["api"]["port"], 8101: cfg["marketo"]["port"], 8102: cfg["salesforce"]["port"],
        8025: cfg["smtp_sink"]["http_port"], 2525: cfg["smtp_sink"]["smtp_port"],
        8233: cfg["temporal"]["ui_port"], 7233: cfg["temporal"]["port"],
    }  # fmt: skip

    def port(found: re.Match[str]) -> str:
        return f"127.0.0.1:{ports.get(int(found.group(1)), found.group(1))}"

    return re.sub(r"127\.0\.0\.1:(\d+)\b", port, text)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(write_config(tmp_path))
    # The walkthrough's relative paths, as in the repository: .venv/bin/..., playbooks/...
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "playbooks").symlink_to(ROOT / "playbooks")
    yield running
    running.kill()


def test_every_walkthrough_command_works_and_does_what_the_readme_says(
    stack: Stack, tmp_path: Path
) -> None:
    blocks = walkthrough_blocks(README.read_text())
    assert blocks, "the README has no walkthrough"
    # Every curl fails on an HTTP error, and ends its output with a newline (one answer a line).
    script = ["set -euo pipefail",
              'curl() { command curl --fail-with-body --max-time 60 "$@" && echo; }',
              ". .data/cadence.env"]  # fmt: skip
    numbers = []
    for block in blocks:
        for number, commands in steps(local_ports(block, stack)):
            numbers.append(number)
            script += [f"echo '@@step {number}@@'", commands]
    assert numbers[:8] == ["0", "1", "2", "3", "4", "5", "6", "7"], numbers

    token = stack.start()
    before = sorted(p.name for p in tmp_path.iterdir())
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENCE_")}
    run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    found = re.findall(r"@@step (\d+)@@\n(.*?)(?=@@step |\Z)", run.stdout, re.S)
    output = {n: [line for line in text.splitlines() if line.strip()] for n, text in found}
    assert run.returncode == 0, f"{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written here

    assert json.loads(output["1"][0])["success"] is True
    assert [p["email"] for p in json.loads(output["2"][-1])] == ["ada@example.com"]
    assert json.loads(output["3"][0])["id"] == 1
    assert json.loads(output["4"][0])["results"][0]["result"] == "enrolled"

    api = httpx.Client(base_url=stack.api, headers={"Authorization": f"Bearer {token}"})
    watched = json.loads(output["5"][0])  # GET /enrollments/1 in step 5
    sent = httpx.get(f"{stack.sink}/api/messages", params={"to": "ada@example.com"}).json()
    steps_done = [s["step_id"] for s in watched["live"]["steps"]]
    if sent["messages"]:  # inside the send window: the first email went at once
        assert sent["messages"][0]["subject"] == "Quick question, Ada"
    else:  # outside it: the enrollment waits for the window's next opening
        assert steps_done == [] and watched["status"] == "active"
        due = datetime.fromisoformat(watched["live"]["next_due_at"])
        assert due > datetime.fromisoformat(watched["created_at"])

    def ended() -> dict[str, Any] | None:
        row: dict[str, Any] = api.get("/enrollments/1").json()
        return row if row["status"] != "active" else None

    assert eventually(ended)["end_reason"] == "replied"
    inbound = api.get("/inbound").json()["items"]
    assert [(m["label"], m["sender"]) for m in inbound] == [("human_reply", "ada@example.com")]
    assert re.search(r"enrollment/1/\d+", "\n".join(output["7"])), output["7"]
    assert stack.stop() == 0
