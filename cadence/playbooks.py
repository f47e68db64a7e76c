"""Load playbook YAML into a validated Playbook, with file:line:col on every error.

The YAML is read within the publishing limits of workflows/playbook.py: the byte size first,
then, while it is composed, the nesting depth, the length of every string and the number of
nodes counted with aliases expanded (so a "billion laughs" of nested aliases is refused at
the alias that crosses the budget, before anything large is built); after validation, the
limits on fields (subject, body, cc, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cadence.text import cut
from workflows.playbook import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_PLAYBOOK_BYTES,
    MAX_TEXT_CHARS,
    Playbook,
)

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


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:int",)]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)

Marks = dict[tuple[str | int, ...], tuple[int, int]]


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


def split_step_path(message: str) -> tuple[tuple[str | int, ...], str]:
    """Problems found across steps come as "steps.2.day: message": split the path off."""
    found = re.match(r"^steps\.(\d+)(?:\.(\w+))?: (.*)$", message, re.DOTALL)
    if found is None:
        return (), message
    path: tuple[str | int, ...] = ("steps", int(found.group(1)))
    if found.group(2):
        path = (*path, found.group(2))
    return path, found.group(3)


def _locate(loc: tuple[str | int, ...], marks: Marks, message: str) -> tuple[int, int]:
    if "Extra inputs are not permitted" in message and (*loc, "__key__") in marks:
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
    """Parse and validate; raise PlaybookError with positions for anything wrong."""
    node, data = load_yaml(text)
    if node is None or not isinstance(node, yaml.MappingNode):
        raise PlaybookError(
            [PlaybookIssue(1, 1, "", "a playbook is a mapping with name and steps")]
        )
    marks: Marks = {}
    _walk(node, (), marks)
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as exc:
        issues = []
        for err in exc.errors():
            loc = tuple(
                p
                for p in err["loc"]
                if p not in ("auto_email", "manual_email")
                and p not in ("call", "linkedin", "inmail", "custom")
            )
            message = err["msg"].removeprefix("Value error, ")
            for line_message in message.split("\n"):
                step_loc, text = split_step_path(line_message)
                where = step_loc or loc
                line, col = _locate(where, marks, text)
                path = ".".join(cut(str(p), 60) for p in where)  # (an unknown key may be long)
                issues.append(PlaybookIssue(line, col, path, text))
        raise PlaybookError(issues) from exc
    over = limit_issues(playbook, marks)
    if over:
        raise PlaybookError(over)
    return playbook


def limit_issues(playbook: Playbook, marks: Marks | None = None) -> list[PlaybookIssue]:
    """The playbook's fields over the publishing limits, placed by ``marks`` (YAML) or at
    1:1 (JSON, which has no places)."""
    issues = []
    for path, message in playbook.limit_problems():
        loc = tuple(int(p) if p.isdigit() else p for p in path.split("."))
        line, col = _locate(loc, marks or {}, message)
        issues.append(PlaybookIssue(line, col, path, message))
    return issues


def playbook_to_yaml(playbook: Playbook) -> str:
    return yaml.safe_dump(playbook.model_dump(mode="json", exclude_none=True), sort_keys=False)
