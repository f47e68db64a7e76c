"""Safe template rendering for sales email: ``{{field}}``, ``{{field | default: "x"}}`` and
``{{! prompt}}``. Only known fields are reachable; nothing is evaluated."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from cadence.domain.text import closest, cut, one_of

# {{field}}, {{field | default: "text"}}, {{! prompt}}. Possessive quantifiers and a name that
# neither starts nor ends with a space keep matching linear: the lazy form backtracked through
# every split of a run of spaces ("{{" and 400 spaces took a minute).
_TAG = re.compile(
    r"\{\{\s*+(?:(!)\s*+)?((?:[^{}|\s]|\s++(?=[^{}|\s]))*+)\s*+"
    r"(?:\|\s*+default:\s*+\"([^\"]*+)\"\s*+)?\}\}"
)

FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "company",
        "company_friendly",
        "title",
        "email",
        "phone",
        "my_name",
        "my_title",
        "my_email",
        "team_unsubscribe",
        "friendly_unsubscribe",
        "my_signature",
    }
)
BLANK_WHEN_MISSING = frozenset({"first_name", "last_name", "title", "my_signature"})
COMPANY_WHEN_MISSING = frozenset({"company", "company_friendly"})
_SUFFIXES = re.compile(
    r"[,\s]+(inc\.?|llc|l\.l\.c\.|gmbh|ltd\.?|limited|corp\.?|corporation|co\.|plc|s\.a\.|ag|bv|b\.v\.)$",
    re.IGNORECASE,
)


class TemplateError(ValueError):
    """The template cannot be rendered for this person without leaving a hole."""


def friendly_company(company: str) -> str:
    previous = None
    while previous != company:
        previous, company = company, _SUFFIXES.sub("", company).strip()
    return company


def person_values(person: Any, owner: Any | None = None) -> dict[str, str | None]:
    """The template fields for a person (any object with the Person columns) and, for
    emails, the sender (with name, title and email)."""
    values: dict[str, str | None] = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "company": person.company,
        "company_friendly": person.company,
        "title": person.title,
        "email": person.email,
        "phone": person.phone,
    }
    if owner is not None:
        values.update(my_name=owner.name, my_title=owner.title, my_email=owner.email)
        values["my_signature"] = getattr(owner, "signature", None)
        values["friendly_unsubscribe"] = (
            "If you would rather not hear from me again, just let me know."
        )
    return values


def template_problems(template: str, *, prompts_allowed: bool) -> list[str]:
    """What makes a template unusable whatever the person: unknown fields, and prompts
    (``{{! ...}}``) where no one fills them in before sending."""
    problems: dict[str, None] = {}  # (each once, however often the template has it)
    for match in _TAG.finditer(template):
        prompt, name = match.group(1), match.group(2)
        if prompt and not prompts_allowed:
            problem = (
                f"{{{{! {cut(name, 60)}}}}} is a prompt for the rep; only manual emails can "
                "have prompts"
            )
        elif not prompt and name not in FIELDS:
            problem = f"unknown field {{{{{cut(name, 60)}}}}}{_meant(name)}"
        else:
            continue
        problems[problem] = None
    return list(problems)


@functools.lru_cache(maxsize=1024)
def _meant(name: str) -> str:
    """The "did you mean" for an unknown field, else the fields there are."""
    suggestions = closest(name, sorted(FIELDS))
    if suggestions:
        return f"; did you mean {one_of([f'{{{{{s}}}}}' for s in suggestions])}?"
    return f" (known fields: {', '.join(sorted(FIELDS))})"


def render(template: str, values: Mapping[str, str | None]) -> str:
    """Render or raise TemplateError naming every problem."""
    problems: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        prompt, name, default = match.group(1), match.group(2), match.group(3)
        if prompt:
            problems.append(f"unfilled prompt {{{{! {name}}}}}")
            return ""
        if name not in FIELDS:
            problems.append(f"unknown field {{{{{name}}}}}")
            return ""
        value = values.get(name)
        if name == "company_friendly" and values.get("company"):
            value = friendly_company(values["company"] or "")
        if value:
            return value
        if default is not None:
            return default
        if name in BLANK_WHEN_MISSING:
            return ""
        if name in COMPANY_WHEN_MISSING:
            return "your company"
        problems.append(f"missing value for {{{{{name}}}}}")
        return ""

    rendered = _TAG.sub(substitute, template)
    if problems:
        raise TemplateError("; ".join(problems))
    return rendered
