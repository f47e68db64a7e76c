"""Load playbook YAML into a validated Playbook, with file:line:col on every error."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from workflows.playbook import Playbook


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
        super().__init__("; ".join(i.format("<playbook>") for i in issues))
        self.issues = issues


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 sexagesimal numbers, so 9:30 stays the string "9:30"."""


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


def parse_playbook(text: str) -> Playbook:
    """Parse and validate; raise PlaybookError with positions for anything wrong."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise PlaybookError(
            [PlaybookIssue(line, col, "", f"invalid YAML: {exc.problem or exc}")]
        ) from exc
    if node is None or not isinstance(node, yaml.MappingNode):
        raise PlaybookError(
            [PlaybookIssue(1, 1, "", "a playbook is a mapping with name and steps")]
        )
    marks: Marks = {}
    _walk(node, (), marks)
    data = yaml.load(text, Loader=_Loader)
    try:
        return Playbook.model_validate(data)
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
                issues.append(PlaybookIssue(line, col, ".".join(str(p) for p in where), text))
        raise PlaybookError(issues) from exc


def playbook_to_yaml(playbook: Playbook) -> str:
    return yaml.safe_dump(playbook.model_dump(mode="json", exclude_none=True), sort_keys=False)
