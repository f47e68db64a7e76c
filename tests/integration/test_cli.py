"""The `cadence` command line: playbook validation and user creation."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cadence.cli.main import app
from cadence.core.auth import user_for_token
from cadence.core.config import get_settings
from cadence.core.db import session_scope
from tests.utils.live_stack import DEVSTACK
from tests.utils.net import free_port

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_the_example_playbooks_are_valid() -> None:
    examples = sorted((ROOT / "playbooks").glob("*.yaml"))
    assert examples
    result = runner.invoke(app, ["playbook", "validate", *map(str, examples)])
    assert result.exit_code == 0, result.output
    assert "ok ('Outbound - new leads', 3 steps)" in result.output


def test_a_bad_playbook_exits_1_with_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: Broken\n"
        "steps:\n"
        "  - id: intro\n"
        "    day: 1\n"
        "    type: auto_email\n"
        "    send_at: '25:00'\n"
        "    body: Hi\n"
        "    subject: Hello\n"
    )
    result = runner.invoke(app, ["playbook", "validate", str(bad)])
    assert result.exit_code == 1
    assert result.output.startswith(f"{bad}:6:14: ")
    assert "HH:MM" in result.output


def test_unreadable_and_malformed_files_are_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    result = runner.invoke(app, ["playbook", "validate", str(tmp_path / "nope.yaml"), str(broken)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'nope.yaml'}:1:1: cannot read" in result.output
    assert f"{broken}:" in result.output


def test_users_create_prints_a_working_token(database: str) -> None:
    result = runner.invoke(
        app, ["users", "create", "--name", "Rita Rep", "--email", "Rita@Seller.example",
              "--role", "rep"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert created["email"] == "rita@seller.example" and created["role"] == "rep"
    with session_scope() as session:
        user = user_for_token(session, created["token"])
        assert user is not None and user.name == "Rita Rep"
    again = runner.invoke(
        app, ["users", "create", "--name", "X", "--email", "rita@seller.example", "--role", "rep"]
    )
    assert again.exit_code == 1 and "already exists" in again.output
    wrong_role = runner.invoke(
        app, ["users", "create", "--name", "Y", "--email", "y@seller.example", "--role", "boss"]
    )
    assert wrong_role.exit_code != 0


def test_every_problem_is_reported_with_its_place(tmp_path: Path) -> None:
    bad = tmp_path / "many.yaml"
    bad.write_text(
        "name: Many problems\n"  # 1
        "steps:\n"  # 2
        "  - id: intro\n"  # 3
        "    day: 3\n"  # 4
        "    type: auto_email\n"  # 5
        "    subject: 'Hi {{frist_name}}'\n"  # 6
        "    body: '{{! opener}} and more'\n"  # 7
        "  - id: intro\n"  # 8
        "    day: 1\n"  # 9
        "    type: call\n"  # 10
        "    title: Call {{first_name}}\n"  # 11
    )
    result = runner.invoke(app, ["playbook", "validate", str(bad)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [
        f"{bad}:6:14",
        f"{bad}:7:11",
        f"{bad}:8:9",
        f"{bad}:9:10",
    ]
    assert "unknown field {{frist_name}}" in lines[0]
    assert "only manual emails can have prompts" in lines[1]
    assert "duplicate step id 'intro'" in lines[2]
    assert "day 1 comes before the previous step's day 3" in lines[3]


def test_same_as_previous_and_threads_need_an_earlier_email(tmp_path: Path) -> None:
    bad = tmp_path / "order.yaml"
    bad.write_text(
        "name: Order\n"
        "steps:\n"
        "  - {id: a, day: 1, type: auto_email, send_at: same_as_previous, thread: true, body: x}\n"
    )
    result = runner.invoke(app, ["playbook", "validate", str(bad)])
    assert result.exit_code == 1
    assert "thread: true needs an earlier email" in result.output
    assert "same_as_previous needs an earlier email" in result.output


def test_the_json_schema_describes_the_playbook_for_editors() -> None:
    result = runner.invoke(app, ["playbook", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["title"] == "Playbook" and set(schema["required"]) >= {"name", "steps"}
    assert {"settings", "steps", "description"} <= set(schema["properties"])
    types = json.dumps(schema["definitions"])
    for step_type in ("auto_email", "manual_email", "call", "linkedin", "inmail", "custom"):
        assert f'"{step_type}"' in types


REPLIES = ROOT / "tests" / "fixtures" / "replies"


def test_replies_classify_prints_one_json_object_per_file(tmp_path: Path) -> None:
    files = [REPLIES / "postfix_user_unknown.eml", REPLIES / "de_automatische_antwort.eml"]
    result = runner.invoke(app, ["replies", "classify", "--json", *map(str, files)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [(o["file"], o["label"]) for o in lines] == [
        (str(files[0]), "bounce_hard"),
        (str(files[1]), "auto_reply"),
    ]
    assert lines[0]["return_date"] is None
    # a bounce says why (docs/replies.md); other labels keep the three fields
    assert (lines[0]["reason"], lines[0]["status"]) == ("userunknown", "5.1.1")
    assert set(lines[1]) == {"file", "label", "return_date"}
    assert lines[1]["return_date"] is not None  # YYYY-MM-DD
    missing = runner.invoke(app, ["replies", "classify", str(tmp_path / "gone.eml"), str(files[0])])
    assert missing.exit_code == 1
    assert f"{tmp_path / 'gone.eml'}: cannot read" in missing.output
    assert '"bounce_hard"' in missing.output  # the readable file is still classified


def test_replies_eval_grades_a_labelled_folder(tmp_path: Path) -> None:
    names = ["postfix_user_unknown.eml", "postfix_mailbox_full.eml", "human_de.eml"]
    for name in names:
        (tmp_path / name).write_bytes((REPLIES / name).read_bytes())
    manifest = [
        {"file": names[0], "label": "bounce_hard", "return_date": None},
        {"file": names[1], "label": "bounce_soft", "return_date": None},
        {"file": names[2], "label": "human_reply", "return_date": None},
    ]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    result = runner.invoke(app, ["replies", "eval", "--check", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "confusion matrix" in result.output
    assert "exact label               100.0%" in result.output
    # A wrong label shows as a mistake, and --check fails on the missed target.
    manifest[1]["label"] = "bounce_hard"
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    result = runner.invoke(app, ["replies", "eval", "--check", str(tmp_path)])
    assert result.exit_code == 1
    assert "postfix_mailbox_full.eml: bounce_hard read as bounce_soft" in result.output
    (tmp_path / "manifest.json").write_text("{not json")
    broken = runner.invoke(app, ["replies", "eval", str(tmp_path)])
    assert broken.exit_code == 1 and "manifest.json" in broken.output


def test_marketo_provision_creates_and_approves_the_types_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    fake = subprocess.Popen(
        [*DEVSTACK, "fake", "marketo", "--port", str(port), "--client-id", "cli-id",
         "--client-secret", "cli-secret"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{base}/identity/oauth/token", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        monkeypatch.setenv("CADENCE_MARKETO_BASE_URL", base)
        monkeypatch.setenv("CADENCE_MARKETO_CLIENT_ID", "cli-id")
        monkeypatch.setenv("CADENCE_MARKETO_CLIENT_SECRET", "cli-secret")
        get_settings.cache_clear()
        first = runner.invoke(app, ["marketo", "provision"])
        assert first.exit_code == 0, first.output
        made = [json.loads(line) for line in first.output.splitlines()]
        assert [t["name"] for t in made] == [
            "Send Sales Email", "Open Sales Email", "Click Sales Email", "Reply to Sales Email",
            "Sales Email Bounced", "Received Sales Call", "Add to Sales Campaign",
            "Remove from Sales Campaign",
        ]  # fmt: skip
        token = httpx.get(f"{base}/identity/oauth/token", params={
            "grant_type": "client_credentials", "client_id": "cli-id",
            "client_secret": "cli-secret"}).json()["access_token"]  # fmt: skip
        listed = httpx.get(f"{base}/rest/v1/activities/external/types.json",
                           headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
        by_name = {t["apiName"]: t for t in listed["result"]}
        assert all(by_name[t["apiName"]]["status"] == "approved" for t in made)
        assert {t["apiName"]: t["id"] for t in made} == {
            name: t["id"] for name, t in by_name.items()
        }
        again = runner.invoke(app, ["marketo", "provision"])
        assert again.exit_code == 0 and again.output == first.output  # nothing new
        monkeypatch.setenv("CADENCE_MARKETO_CLIENT_SECRET", "wrong")
        get_settings.cache_clear()
        refused = runner.invoke(app, ["marketo", "provision"])
        assert refused.exit_code == 1 and base in refused.output
        assert "wrong" not in refused.output  # the secret is not echoed
    finally:
        fake.terminate()
        fake.wait(timeout=10)
        get_settings.cache_clear()
