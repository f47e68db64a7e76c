"""Authors see every mistake of a playbook in one run (`cadence playbook validate`, and
`POST /campaigns` as YAML or JSON), each at its place, with a "did you mean" where a name is
misspelt; one mistake is reported once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from cadence.cli.main import app
from cadence.domain.playbook import parse_hhmm
from cadence.domain.playbook_yaml import PlaybookError, parse_playbook
from tests.utils.api import Api

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

# Eight different mistakes; the numbers are the lines.
EIGHT = """\
name: Eight mistakes
settings:
  skip_weekend: true
  default_send_time: 9am
steps:
  - id: intro
    day: 2
    type: auto_email
    subject: "Hi {{frist_name}}"
    body: Hello
  - id: ring
    day: 1
    type: call
    title: Call
    send_at: "10:00"
  - id: ping
    day: 3
    type: linkedn
    title: Connect
  - id: intro
    day: 4
    type: auto_email
    thread: true
    body: "{{! opener}} just bumping this"
"""

# (line, column, path, message) of each, in the order of the file.
EIGHT_ISSUES = [
    (3, 3, "settings.skip_weekend", "unknown key 'skip_weekend'; did you mean 'skip_weekends'?"),
    (4, 22, "settings.default_send_time",
     "expected a local time as \"HH:MM\" (24-hour), got '9am'"),
    (9, 14, "steps.0.subject", "unknown field {{frist_name}}; did you mean {{first_name}}?"),
    (12, 10, "steps.1.day", "day 1 comes before the previous step's day 2"),
    (15, 5, "steps.1.send_at",
     "'send_at' is for email steps (auto_email, manual_email), not call steps"),
    (18, 11, "steps.2.type", "unknown step type 'linkedn'; did you mean 'linkedin'?"),
    (20, 9, "steps.3.id", "duplicate step id 'intro'"),
    (24, 11, "steps.3.body",
     "{{! opener}} is a prompt for the rep; only manual emails can have prompts"),
]  # fmt: skip


def test_validate_reports_all_eight_mistakes_in_one_run(tmp_path: Path) -> None:
    bad = tmp_path / "eight.yaml"
    bad.write_text(EIGHT)
    result = runner.invoke(app, ["playbook", "validate", str(bad)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{bad}:{line}:{col}: {message} ({path})" for line, col, path, message in EIGHT_ISSUES
    ]


async def test_post_campaigns_reports_all_eight_as_yaml_and_as_json(api: Api) -> None:
    as_yaml = await api.call("POST", "/campaigns", role="author", content=EIGHT,
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert as_yaml.status_code == 422
    assert [(d["line"], d["column"], d["path"], d["msg"]) for d in as_yaml.json()["detail"]] == (
        EIGHT_ISSUES
    )
    assert as_yaml.json()["detail"][4]["loc"] == ["body", "steps", 1, "send_at"]

    as_json = await api.call("POST", "/campaigns", role="author", json=yaml.safe_load(EIGHT))
    assert as_json.status_code == 422
    assert [(d["loc"], d["msg"]) for d in as_json.json()["detail"]] == [
        (["body", *(int(p) if p.isdigit() else p for p in path.split("."))], message)
        for _, _, path, message in EIGHT_ISSUES
    ]
    listed = await api.call("GET", "/campaigns")
    assert listed.json() == []  # nothing stored


def problems(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text)
    return [(i.line, i.column, i.message) for i in caught.value.issues]


def at(text: str, line: int, token: str) -> tuple[int, int]:
    """The line and column of ``token`` on ``line``."""
    return line, text.splitlines()[line - 1].index(token) + 1


def test_one_mistake_is_reported_once() -> None:
    """What a mistake makes unreadable is left out of the checks that need it: no thread
    complaint after a step of unknown type (it may be an email), no day order from an
    unreadable day, no "needs a subject" when `thread` is unreadable."""
    text = (
        "name: Noise\n"
        "steps:\n"
        "  - {id: a, day: two, type: auto_emial, subject: Hi, body: x}\n"
        "  - {id: b, day: 1, type: auto_email, thread: true, body: y}\n"
        "  - {id: c, day: 5, type: auto_email, thread: maybe, body: z}\n"
        "  - {id: d, day: 2, type: call}\n"
    )
    assert problems(text) == [
        (*at(text, 3, "two"),
         "Input should be a valid integer, unable to parse string as an integer"),
        (*at(text, 3, "auto_emial"), "unknown step type 'auto_emial'; did you mean 'auto_email'?"),
        (*at(text, 5, "maybe"), "Input should be a valid boolean, unable to interpret input"),
        (*at(text, 6, "{"), "'title' is required"),  # (at the step)
        (*at(text, 6, "2"), "day 2 comes before the previous step's day 5"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("{id: a, day: 1, type: auto_email, subject: S, body: B, subjet: x}",
         "unknown key 'subjet'; did you mean 'subject'?"),
        ("{id: a, day: 1, type: call, title: T, Day: 2}", "unknown key 'Day'; did you mean 'day'?"),
        ("{id: a, day: 1, type: call, title: T, thread: true}",
         "'thread' is for email steps (auto_email, manual_email), not call steps"),
        ("{id: a, day: 1, type: auto_email, body: B, subject: S, priority: high}",
         "'priority' is for task steps (call, linkedin, inmail, custom), not auto_email steps"),
        ("{id: a, day: 1, type: email, body: B}",
         "unknown step type 'email'; did you mean 'auto_email' or 'manual_email'?"),
        ("{id: a, day: 1, type: meeting, title: T}",
         "unknown step type 'meeting'; the step types are auto_email, manual_email, call, "
         "linkedin, inmail, custom"),
        ("{id: a, day: 1, type: auto_email, subject: S, body: B, zzz: 1}",
         "unknown key 'zzz' (known keys: id, day, type, subject, body, send_at, thread, cc, "
         "bcc, non_commercial)"),
        ("{id: a, day: 1, type: call, title: 'Call {{company_name}}'}",
         "unknown field {{company_name}}; did you mean {{company}}?"),
    ],
)  # fmt: skip
def test_a_misspelt_name_gets_a_did_you_mean(step: str, message: str) -> None:
    assert [m for _, _, m in problems(f"name: X\nsteps:\n  - {step}\n")] == [message]


def test_unknown_keys_in_settings_get_a_did_you_mean() -> None:
    text = (
        "name: X\n"
        "settings:\n"
        "  send_window: {start: '08:00', ending: '18:00'}\n"
        "  on_ooo: {action: ignore, max_day: 3}\n"
        "steps:\n"
        "  - {id: a, day: 1, type: auto_email, subject: S, body: B}\n"
        "step: []\n"
    )
    assert problems(text) == [
        (*at(text, 3, "ending"), "unknown key 'ending'; did you mean 'end'?"),
        (*at(text, 4, "max_day"), "unknown key 'max_day'; did you mean 'max_days'?"),
        (7, 1, "unknown key 'step'; did you mean 'steps'?"),
    ]


def test_an_unknown_zone_or_holiday_country_in_the_settings_is_refused() -> None:
    """`holidays: QQ` used to pass and mean no holidays at all."""
    text = (
        "name: X\n"
        "settings: {timezone: europe/berlin, holidays: QQ}\n"
        "steps:\n"
        "  - {id: a, day: 1, type: call, title: T}\n"
    )
    [zone, country] = problems(text)
    assert zone == (
        *at(text, 2, "europe"),
        "unknown time zone 'europe/berlin'; did you mean 'Europe/Berlin'?",
    )
    assert country[:2] == at(text, 2, "QQ")
    assert country[2].startswith("no public holidays are known for 'QQ'; the countries known")
    assert ", DE, " in country[2]
    assert parse_playbook(text.replace("europe/berlin", "Europe/Berlin").replace("QQ", "DE"))


# -- The JSON Schema for editors ---------------------------------------------------------------


def exported_schema() -> dict[str, Any]:
    result = runner.invoke(app, ["playbook", "schema"])
    assert result.exit_code == 0
    schema: dict[str, Any] = json.loads(result.output)
    jsonschema.Draft7Validator.check_schema(schema)
    return schema


def as_an_editor_reads(text: str) -> Any:
    """The YAML's data as a YAML 1.2 editor sees it: dates are strings."""
    return json.loads(json.dumps(yaml.safe_load(text), default=str))


def test_the_schema_describes_every_key_and_allows_no_other() -> None:
    schema = exported_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"  # (VS Code's YAML)
    objects = [schema, *schema["definitions"].values()]
    assert {o["title"] for o in objects} == {
        "Playbook", "PlaybookSettings", "SendWindow", "OooSettings", "EmailStep", "TaskStep",
    }  # fmt: skip
    for obj in objects:
        assert obj["additionalProperties"] is False, obj["title"]
        for name, prop in obj["properties"].items():
            assert prop.get("description"), f"{obj['title']}.{name}"
    items = schema["properties"]["steps"]["items"]
    assert items["discriminator"]["propertyName"] == "type"
    assert items["discriminator"]["mapping"] == {
        t: f"#/definitions/{'EmailStep' if 'email' in t else 'TaskStep'}"
        for t in ("auto_email", "manual_email", "call", "linkedin", "inmail", "custom")
    }
    defs = schema["definitions"]
    assert defs["EmailStep"]["properties"]["type"]["enum"] == ["auto_email", "manual_email"]
    assert defs["TaskStep"]["properties"]["type"]["enum"] == [
        "call",
        "linkedin",
        "inmail",
        "custom",
    ]
    assert defs["PlaybookSettings"]["properties"]["default_send_time"]["default"] == "09:00"
    assert defs["SendWindow"]["properties"]["end"]["default"] == "18:00"


def test_the_schema_accepts_the_examples_and_refuses_what_validate_refuses() -> None:
    validator = jsonschema.Draft7Validator(exported_schema())
    for example in sorted((ROOT / "playbooks").glob("*.yaml")):
        assert list(validator.iter_errors(as_an_editor_reads(example.read_text()))) == []
    good = (ROOT / "playbooks" / "outbound-with-call.yaml").read_text()
    assert "skip_weekends: true" not in good
    for mistake in (
        good.replace("settings:\n", "settings:\n  skip_weekend: true\n"),
        good.replace("on_reply: end", "default_send_time: 9am"),
        good.replace("priority: high", "send_at: '10:00'"),  # on the call step
        good.replace("type: call", "type: phone"),
        good.replace("day: 3", "day: 0"),
        good.replace("settings:\n", "settings:\n  holidays: Germany\n"),
    ):
        assert mistake != good
        assert list(validator.iter_errors(as_an_editor_reads(mistake))), mistake
        with pytest.raises(PlaybookError):
            parse_playbook(mistake)


@pytest.mark.parametrize("value", ["09:00", "9:30", "23:59", "24:00", "9am", "09:00:00", "7"])
def test_the_schema_and_the_parser_agree_on_times(value: str) -> None:
    window = exported_schema()["definitions"]["SendWindow"]
    accepted = not list(jsonschema.Draft7Validator(window).iter_errors({"start": value}))
    try:
        parse_hhmm(value)
        parsed = True
    except ValueError:
        parsed = False
    assert accepted == parsed


def test_a_date_that_does_not_exist_is_a_problem_at_its_place(tmp_path: Path) -> None:
    """YAML reads 2026-13-01 as a date and failed outright (a traceback, nothing else)."""
    bad = tmp_path / "dates.yaml"
    text = (
        "name: X\n"
        "settings: {blackout_dates: [2026-12-24, 2026-13-01, 2026-02-30], skip_weekend: true}\n"
        "steps:\n"
        "  - {id: a, day: 1, type: call, title: T}\n"
    )
    bad.write_text(text)
    result = runner.invoke(app, ["playbook", "validate", str(bad)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # (no crash)
    assert [line.split(": ", 1)[0] for line in result.output.splitlines()] == [
        f"{bad}:{line}:{col}" for line, col in
        (at(text, 2, "2026-13-01"), at(text, 2, "2026-02-30"), at(text, 2, "skip_weekend"))
    ]  # fmt: skip
    assert "month value is outside expected range" in result.output
