"""Load playbook YAML into a validated Playbook, with file:line:col on every error.

The YAML is read within the publishing limits of workflows/playbook.py: the byte size first,
then, while it is composed, the nesting depth, the length of every string and the number of
nodes counted with aliases expanded (so a "billion laughs" of nested aliases is refused at
the alias that crosses the budget, before anything large is built); with validation, the
limits on fields (subject, body, cc, ...).

A playbook's data (from YAML, or JSON over the API) is checked in one pass (check_playbook):
the fields of every setting and step, the checks across steps over whatever is readable, the
limits; every problem is reported at once, in the order of the file, and a mistake once.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import holidays
import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from cadence.domain.location import zone_problem
from cadence.domain.playbook import (
    FIELDS_ONLY,
    MAX_ADDRESSES,
    MAX_BLACKOUT_DATES,
    MAX_DEPTH,
    MAX_DESCRIPTION_CHARS,
    MAX_LINE_CHARS,
    MAX_NODES,
    MAX_PLAYBOOK_BYTES,
    MAX_TEXT_CHARS,
    STEP_MODELS,
    EmailStep,
    Loc,
    OooSettings,
    Playbook,
    PlaybookSettings,
    SendWindow,
    StepFacts,
    TaskStep,
    cross_step_problems,
)
from cadence.domain.text import brief, closest, cut, one_of

MAX_ISSUES = 50  # reported per playbook; the rest are counted


@dataclass(frozen=True)
class PlaybookIssue:
    line: int
    column: int
    path: str
    message: str

    def format(self, filename: str) -> str:
        where = f" ({self.path})" if self.path else ""
        return f"{filename}:{self.line}:{self.column}: {self.message}{where}"

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "path": self.path, "msg": self.message}


class PlaybookError(ValueError):
    def __init__(self, issues: list[PlaybookIssue]) -> None:
        if len(issues) > MAX_ISSUES:
            rest = issues[MAX_ISSUES]
            more = f"and {len(issues) - MAX_ISSUES} more problems"
            issues = [*issues[:MAX_ISSUES], PlaybookIssue(rest.line, rest.column, "", more)]
        super().__init__("; ".join(i.format("<playbook>") for i in issues))
        self.issues = issues


def _refuse(mark: Any, message: str) -> PlaybookError:
    """An error at a yaml Mark (the C and Python marks have no common type)."""
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return PlaybookError([PlaybookIssue(line, col, "", message)])


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 sexagesimal numbers, so 9:30 stays the string "9:30",
    that composes within the limits: depth, string length, and nodes with aliases expanded.
    Aliases stay allowed (an anchor for a shared text is handy) but count at their full size,
    and an alias inside the node it names (a loop) is refused."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0  # so far, aliases expanded
        self._sizes: dict[str, int] = {}  # anchor -> its nodes, expanded
        self._open: set[str] = set()  # anchors being composed

    def _count(self, mark: Any, nodes: int, what: str) -> None:
        self._nodes += nodes
        if self._nodes > MAX_NODES:
            raise _refuse(
                mark,
                f"{what} makes the playbook more than {MAX_NODES} YAML nodes (keys, values "
                "and lists, each alias counted at the size of what it names)",
            )

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            name = event.anchor or ""
            if name in self._open:
                raise _refuse(event.start_mark, f"alias *{name} is inside what it names")
            self._count(event.start_mark, self._sizes.get(name, 1), f"alias *{name}")
            return super().compose_node(parent, index)
        if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_TEXT_CHARS:
            raise _refuse(
                event.start_mark,
                f"a string of {len(event.value)} characters; at most {MAX_TEXT_CHARS}",
            )
        if self._depth >= MAX_DEPTH:
            raise _refuse(event.start_mark, f"nested more than {MAX_DEPTH} levels deep")
        self._count(event.start_mark, 1, "this value")
        before, anchor = self._nodes, event.anchor
        if anchor is not None:
            self._open.add(anchor)
        self._depth += 1
        node = super().compose_node(parent, index)
        self._depth -= 1
        if anchor is not None:
            self._open.discard(anchor)
            self._sizes[anchor] = self._nodes - before + 1
        return node

    def construct_date_or_text(self, node: yaml.ScalarNode) -> Any:
        """A timestamp such as 2026-12-24, or, when it is no date (2026-13-01), its text, so
        that it is refused at its place like any wrong value."""
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_date_or_text)
_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:int",)]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)

Marks = dict[Loc, tuple[int, int]]


def _walk(node: yaml.Node, path: tuple[str | int, ...], marks: Marks) -> None:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            marks[(*path, key, "__key__")] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            _walk(value_node, (*path, key), marks)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), marks)


def _locate(loc: Loc, marks: Marks, at_key: bool = False) -> tuple[int, int]:
    """Where ``loc`` is (its key's place when ``at_key``), else where its nearest parent is."""
    if at_key and (*loc, "__key__") in marks:
        return marks[(*loc, "__key__")]
    for end in range(len(loc), -1, -1):
        if loc[:end] in marks:
            return marks[loc[:end]]
    return (1, 1)


def _position(text: str, offset: int) -> tuple[int, int]:
    """Line and column (from 1) of the character at ``offset``."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _check_size(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    if len(data) > MAX_PLAYBOOK_BYTES:
        line, col = _position(text, len(data[:MAX_PLAYBOOK_BYTES].decode("utf-8", "ignore")))
        message = f"too large: {len(data)} bytes; at most {MAX_PLAYBOOK_BYTES}"
        raise PlaybookError([PlaybookIssue(line, col, "", message)])


def load_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """The composed node and the data of one YAML document, within the limits above (size,
    depth, string length, nodes with aliases expanded); PlaybookError with the place."""
    _check_size(text)
    try:
        loader = _Loader(text)  # (checks the characters)
        try:
            node = loader.get_single_node()
            return node, (loader.construct_document(node) if node is not None else None)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise PlaybookError(
            [PlaybookIssue(line, col, "", f"invalid YAML: {exc.problem or exc}")]
        ) from exc
    except yaml.reader.ReaderError as exc:  # a control character: not a MarkedYAMLError
        line, col = _position(text, exc.position)
        what = f"character #x{exc.character:04x}" if isinstance(exc.character, int) else "byte"
        message = f"invalid YAML: {what} is not allowed (a control character)"
        raise PlaybookError([PlaybookIssue(line, col, "", message)]) from exc


def decode_playbook(data: bytes) -> str:
    """The playbook's bytes as text; PlaybookError at the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position(data[: exc.start].decode("utf-8"), exc.start)
        raise PlaybookError([PlaybookIssue(line, col, "", "not UTF-8 text")]) from exc


def read_playbook_file(path: Path) -> str:
    """A playbook file's text, read no further than the size limit (a huge file is refused,
    not loaded). OSError if it cannot be read, PlaybookError if it is too big or not UTF-8."""
    with path.open("rb") as handle:
        data = handle.read(MAX_PLAYBOOK_BYTES + 1)
    if len(data) > MAX_PLAYBOOK_BYTES:
        line, col = _position(
            text := data[:MAX_PLAYBOOK_BYTES].decode("utf-8", "ignore"), len(text)
        )
        message = f"too large: more than {MAX_PLAYBOOK_BYTES} bytes"
        raise PlaybookError([PlaybookIssue(line, col, "", message)])
    return decode_playbook(data)


def parse_playbook(text: str) -> Playbook:
    """Parse and validate; raise PlaybookError with every problem, in the order of the file,
    each at its line and column."""
    node, data = load_yaml(text)
    if node is None or not isinstance(node, yaml.MappingNode):
        raise PlaybookError(
            [PlaybookIssue(1, 1, "", "a playbook is a mapping with name and steps")]
        )
    marks: Marks = {}
    _walk(node, (), marks)
    playbook, problems = check_playbook(data)
    if playbook is None:
        issues = []
        for problem in problems:
            line, col = _locate(problem.loc, marks, problem.at_key)
            path = ".".join(cut(str(p), 60) for p in problem.loc)  # (a key may be long)
            issues.append(PlaybookIssue(line, col, path, problem.message))
        raise PlaybookError(sorted(issues, key=lambda i: (i.line, i.column)))
    return playbook


def in_document_order(problems: list[Problem], data: Any) -> list[Problem]:
    """``problems`` of a playbook that came as JSON (no lines) in the order of its keys."""
    marks: Marks = {}
    pending: list[tuple[Loc, Any]] = [((), data)]
    while pending:  # depth first, keys in their order
        path, value = pending.pop()
        marks[path] = (len(marks), 0)
        if isinstance(value, dict):
            children: list[tuple[Loc, Any]] = [((*path, k), v) for k, v in value.items()]
        elif isinstance(value, list):
            children = [((*path, i), v) for i, v in enumerate(value)]
        else:
            continue
        pending.extend(reversed(children))
    return sorted(problems, key=lambda p: _locate(p.loc, marks))


# -- Checking: every problem in one pass ------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One problem of a playbook's data, at ``loc`` (keys and list indexes)."""

    loc: Loc
    message: str
    type: str = "value_error"  # pydantic's error type, for the API's JSON answers
    at_key: bool = False  # placed at the key (one that is not allowed), not at its value


def check_playbook(data: Any) -> tuple[Playbook | None, list[Problem]]:
    """Every problem of a playbook's data (as loaded from YAML or JSON) in one pass: each
    field of every setting and step, the checks across steps, run over whatever of the steps
    is readable, so that a mistake never hides another, and the publishing limits. The
    Playbook when there is no problem."""
    playbook: Playbook | None
    try:
        playbook = Playbook.model_validate(data, context=FIELDS_ONLY)
    except ValidationError as exc:
        playbook = None
        steps = data.get("steps") if isinstance(data, dict) else None
        problems = []
        for error in exc.errors(include_url=False):
            problems.append(_field_problem(error))
            if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
                problems += _common_field_problems(error["loc"], steps)
        facts = [_facts(step) for step in steps] if isinstance(steps, list) else []
    else:
        problems = []
        facts = [StepFacts.of(step) for step in playbook.steps]
    problems += [Problem(loc, message) for loc, message in cross_step_problems(facts)]
    problems += _holiday_country_problems(playbook, data)
    problems += limit_problems(data)
    return (None if problems else playbook), problems


def country_problem(code: str) -> str | None:
    """Why ``code`` is not a country whose public holidays are known, or None."""
    known = sorted(c for c in holidays.list_supported_countries() if len(c) == 2)
    if code.upper() in known:
        return None
    return (
        f"no public holidays are known for {brief(code)}; the countries known (ISO 3166 "
        f"codes): {', '.join(known)}"
    )


def _holiday_country_problems(playbook: Playbook | None, data: Any) -> list[Problem]:
    """A holidays country the calendar does not know (a publish check: running enrollments
    are never refused for it)."""
    code: Any
    if playbook is not None:
        code = playbook.settings.holidays
    else:
        settings = data.get("settings") if isinstance(data, dict) else None
        code = settings.get("holidays") if isinstance(settings, dict) else None
    if not isinstance(code, str) or code in ("lead_country", "off"):
        return []
    if re.fullmatch(r"[A-Z]{2}", code) is None:
        return []  # (its own error)
    problem = country_problem(code)
    return [Problem(("settings", "holidays"), problem)] if problem else []


_STEP_KINDS = {EmailStep: "email steps", TaskStep: "task steps"}
_SECTIONS: dict[Loc, type[BaseModel]] = {
    (): Playbook,
    ("settings",): PlaybookSettings,
    ("settings", "send_window"): SendWindow,
    ("settings", "on_ooo"): OooSettings,
}


def _field_problem(error: ErrorDetails) -> Problem:
    """A pydantic error as an author reads it: the step type's tag out of the place, and
    the messages that would not say what to do said again."""
    loc, kind = tuple(error["loc"]), error["type"]
    step_type = None
    if len(loc) > 2 and loc[0] == "steps" and isinstance(loc[1], int) and loc[2] in STEP_MODELS:
        step_type, loc = str(loc[2]), (*loc[:2], *loc[3:])
    types = ", ".join(STEP_MODELS)
    if kind == "extra_forbidden":
        return Problem(loc, _unknown_key(loc[-1], loc[:-1], step_type), kind, at_key=True)
    if kind == "union_tag_invalid":
        tag = (error.get("ctx") or {}).get("tag", "")
        meant = closest(tag, STEP_MODELS) if isinstance(tag, str) else []
        hint = (
            f"did you mean {one_of([repr(m) for m in meant])}?"
            if meant
            else f"the step types are {types}"
        )
        return Problem((*loc, "type"), f"unknown step type {brief(tag)}; {hint}", kind)
    if kind == "union_tag_not_found":
        return Problem(loc, f"a step needs a type: {types}", kind)
    if kind == "model_attributes_type" and len(loc) == 2 and loc[0] == "steps":
        return Problem(loc, "a step is a mapping: id, day, type and the type's keys", kind)
    if kind == "missing":
        return Problem(loc, f"{brief(loc[-1])} is required", kind)
    if loc == ("settings", "timezone") and isinstance(error["input"], str):
        return Problem(loc, zone_problem(error["input"]) or error["msg"], kind)
    return Problem(loc, error["msg"].removeprefix("Value error, "), kind)


def _unknown_key(key: str | int, where: Loc, step_type: str | None) -> str:
    """A key that is not allowed: a key of another step type says so, and a misspelt one
    gets a "did you mean"."""
    if step_type is not None:
        model = STEP_MODELS[step_type]
        others = [t for t, m in STEP_MODELS.items() if m is not model and key in m.model_fields]
        if others:
            kind = _STEP_KINDS[STEP_MODELS[others[0]]]
            return f"{key!r} is for {kind} ({', '.join(others)}), not {step_type} steps"
    section = STEP_MODELS[step_type] if step_type else _SECTIONS.get(where)
    known = list(section.model_fields) if section is not None else []
    meant = closest(key, known) if isinstance(key, str) else []
    if meant:
        return f"unknown key {brief(key)}; did you mean {one_of([repr(m) for m in meant])}?"
    if known:
        return f"unknown key {brief(key)} (known keys: {', '.join(known)})"
    return f"unknown key {brief(key)}"


def _common_field_problems(loc: Loc, steps: Any) -> list[Problem]:
    """The problems of the keys every step has (id, day) in a step of no known type, which
    pydantic leaves unread."""
    index = loc[1] if len(loc) == 2 else None
    step = steps[index] if isinstance(index, int) and isinstance(steps, list) else None
    if not isinstance(step, dict):
        return []
    found: list[Problem] = []
    for name in ("id", "day"):
        if name not in step:
            found.append(Problem((*loc, name), f"{name!r} is required", "missing"))
            continue
        try:
            _field_adapter(EmailStep, name).validate_python(step[name])
        except ValidationError as exc:
            found += [_field_problem({**e, "loc": (*loc, name, *e["loc"])}) for e in exc.errors()]
    return found


_annotated: Any = Annotated


@functools.cache
def _field_adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    """Validates one field of ``model`` alone (its type and constraints)."""
    info = model.model_fields[name]
    annotation: Any = info.annotation
    return TypeAdapter(_annotated[(annotation, *info.metadata)] if info.metadata else annotation)


def _read(model: type[BaseModel], name: str, step: dict[Any, Any]) -> tuple[bool, Any]:
    """(readable, value) of the field ``name`` of a step as written: its default when it is
    left out, and not readable when it does not validate (or a required one is missing)."""
    if name not in step:
        info = model.model_fields[name]
        return not info.is_required(), info.get_default(call_default_factory=True)
    try:
        return True, _field_adapter(model, name).validate_python(step[name])
    except ValidationError:
        return False, None


def _facts(step: Any) -> StepFacts:
    """What the checks across steps can read of a step that does not validate as a whole."""
    if not isinstance(step, dict):
        return StepFacts()
    step_type = step.get("type")
    model = STEP_MODELS.get(step_type) if isinstance(step_type, str) else None

    def read(name: str) -> Any:
        readable, value = _read(model or EmailStep, name, step)  # (id and day: every step's)
        return value if readable else None

    step_id, day = read("id"), read("day")
    if model is None:  # an unknown type: its templates are still templates
        texts = tuple(
            (name, text)
            for name in ("subject", "body", "title")
            if isinstance(text := step.get(name), str)
        )
        return StepFacts(step_id, day, texts=texts)
    if model is TaskStep:
        title = read("title")
        return StepFacts(step_id, day, step_type, texts=(("title", title),) if title else ())
    subject_ok, subject = _read(model, "subject", step)
    body, send_at = read("body"), step.get("send_at")
    return StepFacts(
        step_id,
        day,
        step_type,
        thread=read("thread"),
        has_subject=bool(subject) if subject_ok else None,
        send_at=send_at if isinstance(send_at, str) else None,
        texts=(
            *((("subject", subject or ""),) if subject_ok else ()),
            *((("body", body),) if body is not None else ()),
        ),
    )


_STEP_TEXT_LIMITS = {
    "subject": MAX_LINE_CHARS, "title": MAX_LINE_CHARS,
    "body": MAX_TEXT_CHARS, "notes": MAX_TEXT_CHARS,
}  # fmt: skip


def limit_problems(data: Any) -> list[Problem]:
    """The values over the publishing limits (workflows/playbook.py). Not a validator of the
    model: stored playbooks and running enrollments stay readable if a limit ever shrinks."""
    found: list[Problem] = []

    def over(loc: Loc, value: Any, limit: int, what: str) -> None:
        if isinstance(value, str | list) and len(value) > limit:
            unit = "characters" if isinstance(value, str) else what
            found.append(Problem(loc, f"{len(value)} {unit}; at most {limit}", "too_long"))

    if not isinstance(data, dict):
        return found
    over(("description",), data.get("description"), MAX_DESCRIPTION_CHARS, "")
    settings = data.get("settings")
    if isinstance(settings, dict):
        blackout = settings.get("blackout_dates")
        over(("settings", "blackout_dates"), blackout, MAX_BLACKOUT_DATES, "dates")
    steps = data.get("steps")
    for index, step in enumerate(steps if isinstance(steps, list) else []):
        if isinstance(step, dict):
            for name, limit in _STEP_TEXT_LIMITS.items():
                over(("steps", index, name), step.get(name), limit, "")
            for name in ("cc", "bcc"):
                over(("steps", index, name), step.get(name), MAX_ADDRESSES, "addresses")
    return found


def playbook_json_schema() -> dict[str, Any]:
    """The JSON Schema of a playbook, for editors: a description on every field, the step
    types (the keys each one takes: a discriminator on ``type``), and no other keys. In
    draft-07, the draft that editors' YAML support (VS Code's YAML extension) implements."""
    schema = Playbook.model_json_schema(ref_template="#/definitions/{model}")
    schema["definitions"] = schema.pop("$defs")
    return {"$schema": "http://json-schema.org/draft-07/schema#", **schema}


def playbook_to_yaml(playbook: Playbook) -> str:
    return yaml.safe_dump(playbook.model_dump(mode="json", exclude_none=True), sort_keys=False)
