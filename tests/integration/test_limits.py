"""Limits on what users send: playbooks (size, depth, strings, aliases, fields), request
bodies per route, and error answers that never echo large input back.

Anything that would blow up if a fix regressed (the billion laughs, a regex that backtracks)
runs in a subprocess with its memory capped and a timeout, so it fails the test instead of
eating the machine."""

from __future__ import annotations

import asyncio
import os
import re
import select
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session
from typer.testing import CliRunner

from api.limits import BODY_LIMITS, DEFAULT_BODY_BYTES
from api.main import create_app
from cadence.cli.main import app
from cadence.core.auth import create_user
from cadence.core.db import get_engine
from cadence.core.models import MAX_ATTACHMENTS_BYTES, Role
from cadence.domain.playbook import (
    MAX_ADDRESSES,
    MAX_DEPTH,
    MAX_LINE_CHARS,
    MAX_NODES,
    MAX_PLAYBOOK_BYTES,
    MAX_TEXT_CHARS,
)
from cadence.domain.playbook_yaml import MAX_ISSUES, PlaybookError, parse_playbook
from cadence.domain.templates import template_problems
from tests.utils.net import free_port

ROOT = Path(__file__).resolve().parents[2]
LAUGHS = ROOT / "tests" / "fixtures" / "playbooks" / "billion-laughs.yaml"
CADENCE = Path(sys.executable).parent / "cadence"
runner = CliRunner()

PLAYBOOK = """\
name: Limits
steps:
  - id: intro
    day: 1
    type: auto_email
    subject: Hello
    body: Hi there.
"""


def run_capped(
    args: list[str], timeout: float = 60, memory: int = 1 << 30
) -> subprocess.CompletedProcess[str]:
    """Run a command with its address space capped at ``memory`` bytes and a timeout."""
    cap = (
        "import os, resource, sys; "
        "resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1]))); "
        "os.execv(sys.argv[2], sys.argv[2:])"
    )
    return subprocess.run(
        [sys.executable, "-c", cap, str(memory), *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )  # fmt: skip


def issues(text: str) -> list[tuple[int, int, str, str]]:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text)
    return [(i.line, i.column, i.path, i.message) for i in caught.value.issues]


def position(text: str, needle: str) -> tuple[int, int]:
    """Line and column (from 1) of the first ``needle`` in ``text``."""
    offset = text.index(needle)
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


# -- The billion laughs ----------------------------------------------------------------------


def test_the_billion_laughs_is_refused_at_an_alias_by_validate_and_simulate(
    tmp_path: Path,
) -> None:
    laughs = LAUGHS.read_text()
    expected = re.compile(
        rf"^{re.escape(str(LAUGHS))}:(\d+):(\d+): alias \*[a-i] makes the playbook more "
        rf"than {MAX_NODES} YAML nodes"
    )
    validate = run_capped([str(CADENCE), "playbook", "validate", str(LAUGHS)])
    assert validate.returncode == 1, validate.stderr[-2000:]
    found = expected.match(validate.stderr)
    assert found, validate.stderr[-2000:]
    line, col = int(found.group(1)), int(found.group(2))
    assert laughs.splitlines()[line - 1][col - 1] == "*"  # the place is an alias

    simulate = run_capped([str(CADENCE), "playbook", "simulate", str(LAUGHS),
                           "--start", "2026-12-01T09:00:00Z"])  # fmt: skip
    assert simulate.returncode == 1 and expected.match(simulate.stderr), simulate.stderr[-2000:]

    good = tmp_path / "good.yaml"
    good.write_text(PLAYBOOK)
    events = run_capped([str(CADENCE), "playbook", "simulate", str(good), "--start",
                         "2026-12-01T09:00:00Z", "--events", str(LAUGHS)])  # fmt: skip
    assert events.returncode == 1
    assert events.stderr.startswith(f"{LAUGHS}:{line}:{col}: alias"), events.stderr[-2000:]


def test_an_alias_inside_what_it_names_is_refused() -> None:
    text = PLAYBOOK + "description: &loop [*loop]\n"
    line, col = position(text, "*loop")
    assert issues(text) == [(line, col, "", "alias *loop is inside what it names")]


def test_aliases_within_the_budget_still_work() -> None:
    text = PLAYBOOK.replace("body: Hi there.", "body: &sig Hi there.") + (
        "  - id: bump\n    day: 2\n    type: auto_email\n    subject: Again\n    body: *sig\n"
    )
    playbook = parse_playbook(text)
    assert [s.body for s in playbook.steps] == ["Hi there.", "Hi there."]  # type: ignore[union-attr]


# -- Size, depth, strings, fields ------------------------------------------------------------


def test_a_deeply_nested_playbook_is_refused_where_it_gets_too_deep() -> None:
    text = PLAYBOOK + "description: " + "[" * 5000 + "]" * 5000 + "\n"
    line, col = position(text, "[")
    # description is at depth 2, so the first bracket too deep is the (MAX_DEPTH - 1)th
    assert issues(text) == [
        (line, col + MAX_DEPTH - 1, "", f"nested more than {MAX_DEPTH} levels deep")
    ]


def test_a_string_over_the_limit_is_refused_at_its_place() -> None:
    text = PLAYBOOK.replace("body: Hi there.", "body: " + "x" * (MAX_TEXT_CHARS + 1))
    line, col = position(text, "xxx")
    assert issues(text) == [
        (line, col, "", f"a string of {MAX_TEXT_CHARS + 1} characters; at most {MAX_TEXT_CHARS}")
    ]


def test_fields_over_their_limits_are_refused_with_line_and_column() -> None:
    cc = ", ".join(f"a{i}@example.com" for i in range(MAX_ADDRESSES + 1))
    text = PLAYBOOK.replace("subject: Hello", "subject: " + "s" * (MAX_LINE_CHARS + 1)).replace(
        "body: Hi there.", f"body: Hi there.\n    cc: [{cc}]"
    )
    assert issues(text) == [
        (*position(text, "sss"), "steps.0.subject",
         f"{MAX_LINE_CHARS + 1} characters; at most {MAX_LINE_CHARS}"),
        (*position(text, "[a0@"), "steps.0.cc",
         f"{MAX_ADDRESSES + 1} addresses; at most {MAX_ADDRESSES}"),
    ]  # fmt: skip


def test_a_playbook_over_the_size_limit_is_refused_where_it_crosses_it(tmp_path: Path) -> None:
    padding = "".join(f"# {i:06d} {'.' * 60}\n" for i in range(MAX_PLAYBOOK_BYTES // 70 + 10))
    text = PLAYBOOK + padding
    crossing = text.encode()[:MAX_PLAYBOOK_BYTES].decode()
    line = crossing.count("\n") + 1
    col = len(crossing) - crossing.rfind("\n")
    assert issues(text) == [
        (line, col, "", f"too large: {len(text.encode())} bytes; at most {MAX_PLAYBOOK_BYTES}")
    ]
    big = tmp_path / "big.yaml"
    big.write_text(text * 100)  # read no further than the limit
    result = runner.invoke(app, ["playbook", "validate", str(big)])
    assert result.exit_code == 1
    assert result.output == (
        f"{big}:{line}:{col}: too large: more than {MAX_PLAYBOOK_BYTES} bytes\n"
    )


def test_a_control_character_is_reported_with_its_place() -> None:
    text = PLAYBOOK.replace("Hi there.", "Hi\x00there.")
    line, col = position(text, "\x00")
    assert issues(text) == [
        (line, col, "", "invalid YAML: character #x0000 is not allowed (a control character)")
    ]


def test_a_list_as_a_key_is_an_error_with_its_place() -> None:
    text = PLAYBOOK + "? [a, b]\n: c\n"
    assert issues(text) == [(*position(text, "[a, b]"), "", "invalid YAML: found unhashable key")]


def test_many_problems_are_reported_up_to_a_cap() -> None:
    steps = "".join(
        f"  - {{id: s{i}, day: 1, type: auto_email, subject: S, body: B, x{i}: 1, y{i}: 2}}\n"
        for i in range(100)
    )
    text = f"name: Many\nsteps:\n{steps}"
    found = issues(text)
    assert len(found) == MAX_ISSUES + 1
    assert found[0][:3] == (*position(text, "x0:"), "steps.0.x0")
    assert found[-1][:2] == position(text, f"x{MAX_ISSUES // 2}:")  # the first one left out
    assert found[-1][3] == f"and {200 - MAX_ISSUES} more problems"


def test_an_error_never_echoes_a_long_value() -> None:
    text = PLAYBOOK.replace("Hi there.", "Hi there.\n    cc: [" + "x" * 10_000 + "]")
    [(_, _, path, message)] = issues(text)
    assert path == "steps.0.cc.0" and message.startswith("not an email address: 'xxx")
    assert len(message) < 100


def test_a_long_unknown_key_is_named_briefly() -> None:
    text = PLAYBOOK + "k" * 1000 + ": 1\n"  # (PyYAML takes keys of up to 1024 characters)
    [(line, col, path, message)] = issues(text)
    assert (line, col) == position(text, "kkk") and message.startswith("unknown key 'kkk")
    assert len(message) < 200
    assert path == "k" * 59 + "…"


def test_a_file_that_is_not_utf8_is_reported_with_its_place(tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(PLAYBOOK.replace("Hi there.", "Gr\xfc\xdfe").encode("latin-1"))
    result = runner.invoke(app, ["playbook", "validate", str(latin)])
    assert result.exit_code == 1
    assert result.output == f"{latin}:7:13: not UTF-8 text\n"


# -- Templates: matching stays linear ---------------------------------------------------------


def test_template_fields_are_found_in_linear_time() -> None:
    check = (
        "from cadence.domain.templates import render, template_problems\n"
        "for text in ['{{' + ' ' * 20000, '{{ ! ' + ' ' * 20000, '{{a' + ' ' * 20000 + '|']:\n"
        "    assert template_problems(text, prompts_allowed=False) == []\n"
        "    assert render(text, {}) == text\n"
        "print('ok')\n"
    )
    result = run_capped([sys.executable, "-c", check], timeout=30)
    assert result.stdout == "ok\n", result.stderr[-2000:]


# The pattern before it was made linear: the new one must find exactly the same tags.
_BACKTRACKING_TAG = re.compile(
    r"\{\{\s*(!)?\s*([^{}|]*?)\s*(?:\|\s*default:\s*\"([^\"]*)\"\s*)?\}\}"
)
_PIECES = ["{{", "}}", "{", "}", "|", "!", '"', " ", "\n", "first_name", "x", "default:", " | "]


@given(st.lists(st.sampled_from(_PIECES), max_size=14).map("".join))
def test_template_tags_mean_what_they_meant(text: str) -> None:
    from cadence.domain.templates import _TAG

    expected = [(m.span(), m.groups()) for m in _BACKTRACKING_TAG.finditer(text)]
    assert [(m.span(), m.groups()) for m in _TAG.finditer(text)] == expected
    template_problems(text, prompts_allowed=True)


# -- Request bodies ----------------------------------------------------------------------------


class Light:
    """The API in process, without Temporal (the calls here never reach a workflow)."""

    def __init__(self, http: httpx.AsyncClient, tokens: dict[str, str]) -> None:
        self.http, self.tokens = http, tokens

    async def call(
        self, method: str, url: str, role: str = "admin", **kw: object
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}", **kw.pop("headers", {})}  # type: ignore[dict-item]
        return await self.http.request(method, url, headers=headers, **kw)  # type: ignore[arg-type]


def make_users(database: str) -> dict[str, str]:
    tokens: dict[str, str] = {}
    with Session(get_engine(database)) as session:
        for role in Role:
            _, tokens[role.value] = create_user(
                session, name=f"{role.value} user", email=f"{role.value}@seller.test", role=role
            )
        session.commit()
    return tokens


@pytest.fixture
async def light(database: str) -> AsyncIterator[Light]:
    tokens = make_users(database)
    api = create_app()
    api.state.temporal, api.state.temporal_lock = object(), asyncio.Lock()  # never called
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        yield Light(http, tokens)


class Counted:
    """A chunked request body of ``total`` bytes that counts how much of it was read."""

    def __init__(self, head: bytes, item: bytes, total: int, tail: bytes = b"") -> None:
        self.head, self.item, self.total, self.tail, self.read = head, item, total, tail, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = self.item * max(1, 65536 // len(self.item))
        yield self.head
        while self.read < self.total:
            self.read += len(chunk)
            yield chunk
        yield self.tail


async def test_a_two_million_item_enrollment_is_refused_before_it_is_read_whole(
    light: Light,
) -> None:
    body = Counted(b'{"emails": [', b'"a@example.com", ', 2_000_000 * 17, b'"a@example.com"]}')
    resp = await light.call("POST", "/campaigns/1/enrollments", content=body,
                            headers={"Content-Type": "application/json"})  # fmt: skip
    assert resp.status_code == 413 and len(resp.content) < 500
    assert resp.json() == {
        "detail": f"the request body is over {DEFAULT_BODY_BYTES} bytes; POST "
        f"/campaigns/1/enrollments takes at most 1 MB ({DEFAULT_BODY_BYTES} bytes)"
    }
    assert body.read <= DEFAULT_BODY_BYTES + 65536  # stopped at the limit


async def test_a_declared_length_over_the_limit_is_refused_before_reading(light: Light) -> None:
    body = Counted(b"", b"z", 100)
    size = MAX_ATTACHMENTS_BYTES + 1
    resp = await light.call("POST", "/attachments", params={"filename": "big.zip"}, content=body,
                            headers={"Content-Length": str(size)})  # fmt: skip
    assert resp.status_code == 413 and body.read == 0
    assert resp.json()["detail"] == (
        f"the request body is {size} bytes; POST /attachments takes at most 23 MB "
        f"({MAX_ATTACHMENTS_BYTES} bytes)"
    )


async def test_each_route_has_its_own_body_limit(light: Light) -> None:
    yaml_type = {"Content-Type": "application/yaml"}
    big_playbook = PLAYBOOK + "#" * MAX_PLAYBOOK_BYTES
    resp = await light.call("POST", "/campaigns", content=big_playbook, headers=yaml_type)
    assert resp.status_code == 413 and "POST /campaigns takes at most 256 KB" in resp.text
    created = await light.call("POST", "/campaigns", content=PLAYBOOK, headers=yaml_type)
    assert created.status_code == 201
    version = await light.call("POST", f"/campaigns/{created.json()['id']}/versions",
                               content=big_playbook, headers=yaml_type)  # fmt: skip
    assert version.status_code == 413
    listed = await light.call("GET", "/campaigns")
    assert [c["current_version"] for c in listed.json()] == [1]  # nothing half-written
    two_mb = await light.call("POST", "/attachments", params={"filename": "deck.pdf"},
                              content=b"%PDF" + b"x" * (2 * DEFAULT_BODY_BYTES))  # fmt: skip
    assert two_mb.status_code == 201  # attachments keep their 23 MB
    signature = await light.call("PATCH", "/users/me", json={"signature": "x" * DEFAULT_BODY_BYTES})
    assert signature.status_code == 413  # JSON everywhere else: 1 MB


async def test_a_large_bad_body_gets_a_short_answer_that_says_where(light: Light) -> None:
    long = await light.call("PATCH", "/users/me", json={"signature": "x" * 900_000})
    assert long.status_code == 422 and len(long.content) < 1000
    [error] = long.json()["detail"]
    assert error["loc"] == ["body", "signature"] and "5000 characters" in error["msg"]
    assert error["input"] == "x" * 99 + "…"

    many = await light.call(
        "POST", "/campaigns/1/enrollments", json={"emails": ["a@b.co"] * 90_000}
    )
    assert many.status_code == 422 and len(many.content) < 1000
    [error] = many.json()["detail"]
    assert error["loc"] == ["body", "emails"] and error["type"] == "too_long"
    assert "input" not in error  # the list is not echoed

    bad = await light.call("POST", "/campaigns/1/enrollments", json={"person_ids": ["x"] * 150})
    assert bad.status_code == 422 and len(bad.content) < 5000
    detail = bad.json()["detail"]
    assert [d["loc"] for d in detail[:2]] == [["body", "person_ids", 0], ["body", "person_ids", 1]]
    assert detail[0]["input"] == "x"
    assert detail[-1] == {
        "type": "too_many_errors",
        "loc": ["body"],
        "msg": "and 130 more problems",
    }


async def test_the_campaign_list_stays_small_however_long_the_emails(light: Light) -> None:
    long_body = "word " * (MAX_TEXT_CHARS // 5)
    playbook = PLAYBOOK.replace("Hi there.", long_body) + (
        f"  - id: bump\n    day: 3\n    type: auto_email\n    thread: true\n    body: {long_body}\n"
    )
    ids = []
    for _ in range(3):
        created = await light.call("POST", "/campaigns", content=playbook,
                                   headers={"Content-Type": "application/yaml"})  # fmt: skip
        assert created.status_code == 201, created.text[:500]
        ids.append(created.json()["id"])
    listed = await light.call("GET", "/campaigns")
    assert listed.status_code == 200 and len(listed.content) < 2000
    assert [c["id"] for c in listed.json()] == ids
    assert listed.json()[0]["steps"] == [
        {"id": "intro", "day": 1, "type": "auto_email"},
        {"id": "bump", "day": 3, "type": "auto_email"},
    ]
    whole = await light.call("GET", f"/campaigns/{ids[0]}")
    assert whole.json()["steps"][1]["body"] == long_body.strip()
    first = await light.call("GET", "/campaigns", params={"limit": 2})
    rest = await light.call("GET", "/campaigns", params={"after_id": ids[1]})
    assert [c["id"] for c in first.json()] == ids[:2]
    assert [c["id"] for c in rest.json()] == ids[2:]


async def test_an_unknown_step_is_named_briefly(light: Light) -> None:
    created = await light.call("POST", "/campaigns", content=PLAYBOOK,
                               headers={"Content-Type": "application/yaml"})  # fmt: skip
    url = f"/campaigns/{created.json()['id']}/preview"
    resp = await light.call("POST", url, json={"step_id": "s" * 100, "person_id": 1})
    assert resp.status_code == 404 and len(resp.content) < 200
    assert resp.json()["detail"].endswith("…; the steps are intro")
    huge = await light.call("POST", url, json={"step_id": "s" * 500_000, "person_id": 1})
    assert huge.status_code == 422 and len(huge.content) < 1000
    assert huge.json()["detail"][0]["loc"] == ["body", "step_id"]


async def test_a_playbook_that_is_not_utf8_gets_its_place_over_http(light: Light) -> None:
    latin = PLAYBOOK.replace("Hi there.", "Gr\xfc\xdfe").encode("latin-1")
    resp = await light.call("POST", "/campaigns", content=latin,
                            headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert resp.status_code == 422
    assert resp.json()["detail"] == [
        {"loc": ["body"], "line": 7, "column": 13, "path": "", "msg": "not UTF-8 text",
         "type": "value_error"}
    ]  # fmt: skip


def test_every_route_in_the_limits_table_exists() -> None:
    paths = create_app().openapi()["paths"]
    for method, path in BODY_LIMITS:
        assert method.lower() in paths.get(path, {}), (method, path)


# -- Over real HTTP, in a process with its memory capped ---------------------------------------


@pytest.fixture
def served(database: str) -> Iterator[tuple[str, dict[str, str]]]:
    """`cadence api` as a process on a free port, its address space capped at 2 GB."""
    tokens = make_users(database)
    port = free_port()
    env = {**os.environ, "CADENCE_API_PORT": str(port)}
    cap = (
        "import os, resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", cap, str(CADENCE), "api"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield base, tokens
    finally:
        process.terminate()
        process.wait(timeout=10)


def raw_request(port: int, head: str, chunks: Iterator[bytes]) -> tuple[bytes, int]:
    """Send a request's head, then body chunks until the server answers (or stops reading);
    the answer's first bytes and how many body bytes went out before it."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(head.encode())
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(chunk)
            except (TimeoutError, ConnectionError):
                break
            sent += len(chunk)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            more = sock.recv(65536)
            if not more:
                break
            answer += more
        return answer, sent


def test_a_real_server_refuses_the_billion_laughs_and_oversized_bodies(
    served: tuple[str, dict[str, str]],
) -> None:
    base, tokens = served
    auth = {"Authorization": f"Bearer {tokens['author']}"}
    started = time.monotonic()
    laughs = httpx.post(f"{base}/campaigns", content=LAUGHS.read_bytes(), timeout=30,
                        headers={**auth, "Content-Type": "application/yaml"})  # fmt: skip
    assert laughs.status_code == 422, laughs.text[:2000]
    [issue] = laughs.json()["detail"]
    assert LAUGHS.read_text().splitlines()[issue["line"] - 1][issue["column"] - 1] == "*"
    assert issue["msg"].startswith("alias *")
    as_json = httpx.post(f"{base}/campaigns", content=LAUGHS.read_bytes(), timeout=30,
                         headers={**auth, "Content-Type": "application/json"})  # fmt: skip
    assert as_json.status_code == 422 and "JSON" in as_json.text  # JSON has no aliases
    assert time.monotonic() - started < 20

    port = int(base.rsplit(":", 1)[1])
    head = (
        "POST /campaigns HTTP/1.1\r\nHost: api\r\nContent-Type: application/yaml\r\n"
        f"Authorization: Bearer {tokens['author']}\r\n"
    )
    answer, sent = raw_request(port, head + "Content-Length: 30000000\r\n\r\n",
                               iter([b"#" * 65536] * 458))  # fmt: skip
    assert answer.startswith(b"HTTP/1.1 413") and b"256 KB" in answer
    assert sent < 30_000_000  # answered before the 30 MB were sent
    chunked = (b"%x\r\n%s\r\n" % (65536, b"#" * 65536) for _ in range(2000))  # 128 MB
    answer, sent = raw_request(port, head + "Transfer-Encoding: chunked\r\n\r\n", chunked)
    assert answer.startswith(b"HTTP/1.1 413") and b"256 KB" in answer
    assert sent < 64 * DEFAULT_BODY_BYTES  # not read whole
    assert httpx.get(f"{base}/health").status_code == 200  # still up
