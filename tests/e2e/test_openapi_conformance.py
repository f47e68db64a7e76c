"""The OpenAPI document tells the truth: schemathesis walks every operation the running API
documents (`make run` on free ports, with a campaign, a person, an enrollment and a task in
it), with an admin token and without one, and checks that each answer's status, content type,
headers and body are the ones the document gives for it, that no answer is a server error, and
that a method a path does not take is a 405. Its stateful phase follows the document's links
(a campaign just published, then read, versioned and enrolled into, ...). Examples are drawn
the same way at every run and their number per operation is small, so the run is bounded."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.utils.live_stack import ROOT, Stack, eventually, write_config

pytestmark = pytest.mark.e2e
ST = Path(sys.executable).parent / "st"
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "unsupported_method",
]
CALLS = """\
name: Calls
settings: {skip_weekends: false, holidays: "off", default_send_time: "00:00",
           send_window: {start: "00:00", end: "23:59"}}
steps:
  - {id: call, day: 1, type: call, title: "Call {{first_name}}"}
  - {id: bump, day: 30, type: auto_email, subject: Hello, body: "Hi {{first_name}}"}
"""


def _seed(stack: Stack, token: str) -> None:
    """Campaign 1 with an enrollment waiting on its call task, campaign 2 from the example
    playbook, and a person: the ids a run tries first (1) name real things."""
    api = httpx.Client(base_url=stack.api, headers={"Authorization": f"Bearer {token}"})
    mkto = httpx.get(
        f"{stack.marketo}/identity/oauth/token",
        params={"grant_type": "client_credentials", "client_id": "local-marketo-client",
                "client_secret": "local-marketo-secret"},
    ).json()["access_token"]  # fmt: skip
    lead = {"email": "ada@example.com", "firstName": "Ada", "company": "Acme",
            "sfdcLeadOwnerId": "005000000000001AAA"}  # fmt: skip
    httpx.post(
        f"{stack.marketo}/rest/v1/leads.json",
        headers={"Authorization": f"Bearer {mkto}"},
        json={"action": "createOrUpdate", "lookupField": "email", "input": [lead]},
    ).raise_for_status()
    assert api.post("/people/sync").status_code == 202
    person = eventually(lambda: api.get("/people", params={"email": "ada@example.com"}).json())
    yaml = {"Content-Type": "application/yaml"}
    assert api.post("/campaigns", content=CALLS, headers=yaml).status_code == 201
    outbound = (ROOT / "playbooks" / "outbound.yaml").read_bytes()
    assert api.post("/campaigns", content=outbound, headers=yaml).status_code == 201
    enrolled = api.post("/campaigns/1/enrollments", json={"person_ids": [person[0]["id"]]})
    assert enrolled.status_code == 202, enrolled.text
    eventually(lambda: api.get("/tasks").json())


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    stack = Stack(write_config(tmp_path_factory.mktemp("openapi")))
    try:
        token = stack.start()
        _seed(stack, token)
        yield stack, token
        assert stack.stop() == 0
    finally:
        stack.kill()


@pytest.mark.parametrize("auth", ["admin token", "no token"])
def test_every_operation_answers_as_its_openapi_document_says(
    running: tuple[Stack, str], auth: str, tmp_path: Path
) -> None:
    stack, token = running
    command = [
        str(ST), "run", f"{stack.api}/openapi.json",
        "--checks", ",".join(CHECKS),
        "--mode", "all",  # valid and invalid input
        "--max-examples", "6",
        "--generation-deterministic",  # the same examples at every run
        "--workers", "1",  # 2 threads can trip Hypothesis (AST recursion depth mismatch)
        "--request-timeout", "20",
        "--suppress-health-check", "all",
        "--no-color",
    ]  # fmt: skip
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CADENCE_", "ST_"))},
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.utils.schemathesis_hooks",
        "CADENCE_INBOUND_TOKEN": (stack.config.parent / ".data" / "inbound-token").read_text(),
    }
    if auth == "admin token":
        env["ST_TOKEN"] = token
    started = time.monotonic()
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env
    )
    took = time.monotonic() - started
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-3000:]
    summary = run.stdout[run.stdout.rindex("SUMMARY") :]
    counts = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", summary)
    assert counts and len(set(counts.groups())) == 1, summary  # every operation, tested
    assert " passed" in summary, summary
    assert "Stateful" in summary and took < 300, summary
