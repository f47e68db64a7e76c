"""Limits on what users send: playbooks (size, depth, strings, aliases, fields), request
bodies per route, and error answers that never echo large input back.

Anything that would blow up if a fix regressed (the billion laughs, a regex that backtracks)
runs in a subprocess with its memory capped and a timeout, so it fails the test instead of
eating the machine."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from cadence.cli import app
from cadence.playbooks import MAX_ISSUES, PlaybookError, parse_playbook
from cadence.templates import template_problems
from workflows.playbook import (
    MAX_ADDRESSES,
    MAX_DEPTH,
    MAX_LINE_CHARS,
    MAX_NODES,
    MAX_PLAYBOOK_BYTES,
    MAX_TEXT_CHARS,
)

ROOT = Path(__file__).resolve().parents[1]
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


# -- Templates: matching stays linear ---------------------------------------------------------


def test_template_fields_are_found_in_linear_time() -> None:
    check = (
        "from cadence.templates import render, template_problems\n"
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
    from cadence.templates import _TAG

    expected = [(m.span(), m.groups()) for m in _BACKTRACKING_TAG.finditer(text)]
    assert [(m.span(), m.groups()) for m in _TAG.finditer(text)] == expected
    template_problems(text, prompts_allowed=True)
