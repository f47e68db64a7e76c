"""The playbook: what a campaign author writes (YAML), validated. Pure data, safe in workflows.

The shape is the contract authors write against; see docs/playbooks.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pendulum  # validators run inside the sandbox when inputs are decoded

    from cadence.domain.templates import template_problems
    from cadence.domain.text import brief

# What a playbook may be, checked when one is published (playbook_yaml, POST /campaigns),
# never when a stored one is decoded, so running enrollments are never refused. Every
# enrollment carries its playbook in its workflow input, well under Temporal's 2 MB payload
# limit at this size. docs/playbooks.md ("Limits") lists them.
MAX_PLAYBOOK_BYTES = 256 * 1024
MAX_DEPTH = 10  # nesting of mappings and lists (a playbook needs 5)
MAX_NODES = 25_000  # keys, values and lists, counted after aliases are expanded
MAX_TEXT_CHARS = 100_000  # any string: a body, notes (as a one-off email's body)
MAX_LINE_CHARS = 255  # a subject, a task title (as a one-off email's subject)
MAX_DESCRIPTION_CHARS = 2_000
MAX_STEPS = 100
MAX_ADDRESSES = 50  # cc, and bcc, per step
MAX_BLACKOUT_DATES = 366

_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_HHMM_PATTERN = r"([01]?\d|2[0-3]):([0-5]\d)"
_HHMM = re.compile(f"^{_HHMM_PATTERN}$")
_DURATION = re.compile(r"^(\d+)\s*(m|h|d)$")


def _address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError(f"not an email address: {brief(value)}")
    return value


EmailAddress = Annotated[str, AfterValidator(_address)]


def parse_hhmm(value: Any) -> time:
    """Accept "HH:MM" (24 h) only; YAML turns some clock values into other types."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ValueError(f'expected a local time as "HH:MM" (24-hour), got {brief(value)}')
    hour, minute = value.split(":")
    return time(int(hour), int(minute))


LocalTime = Annotated[
    time,
    BeforeValidator(parse_hhmm),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": f"^{_HHMM_PATTERN}$"}),
]
"""A wall-clock time written and stored as "HH:MM"."""


def _clock(hour: int, description: str) -> Any:
    """A LocalTime field with its default, shown as "HH:MM" in the JSON Schema too."""
    default = time(hour, 0)
    return Field(
        default=default,
        description=description,
        json_schema_extra={"default": default.strftime("%H:%M")},
    )


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SendWindow(_Model):
    """When emails may go out, in the lead's local time."""

    start: LocalTime = _clock(8, "Opening time, inclusive (HH:MM)")
    end: LocalTime = _clock(18, "Closing time, exclusive (HH:MM)")

    @model_validator(mode="after")
    def _ordered(self) -> SendWindow:
        if self.start >= self.end:
            raise ValueError("send_window.start must be before send_window.end")
        return self


class OooSettings(_Model):
    """What an out-of-office answer does."""

    action: Literal["ignore", "pause_until_return"] = Field(
        default="ignore",
        description="ignore: go on; pause_until_return: pause until the return date it states",
    )
    default_days: int = Field(
        default=7, ge=1, le=90, description="Days to pause when the answer gives no return date"
    )
    max_days: int = Field(default=21, ge=1, le=365, description="Never pause longer than this")


class PlaybookSettings(_Model):
    """How the whole campaign sends."""

    skip_weekends: bool = Field(default=True, description="Saturdays and Sundays are not days")
    holidays: str = Field(
        default="lead_country",
        description='Public holidays skipped: "lead_country", "off", or a country code such as DE',
        json_schema_extra={"pattern": "^(lead_country|off|[A-Z]{2})$"},
    )
    blackout_dates: list[date] = Field(
        default_factory=list, description="Dates on which nothing is sent (YYYY-MM-DD)"
    )
    timezone: str | None = Field(
        default=None,
        description="IANA zone (e.g. Europe/Berlin) used when neither lead nor owner has one",
    )
    send_window: SendWindow = Field(
        default_factory=SendWindow, description="When emails may go out (08:00-18:00)"
    )
    default_send_time: LocalTime = _clock(9, "A step's local time when it has no send_at")
    on_reply: Literal["end", "end_success"] = Field(
        default="end", description="A reply ends the enrollment (end_success: as a success)"
    )
    on_ooo: OooSettings = Field(
        default_factory=OooSettings, description="What an out-of-office answer does"
    )
    remove_on_bounce: bool = Field(default=True, description="A hard bounce ends the enrollment")

    @field_validator("holidays", mode="before")
    @classmethod
    def _holidays(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare `off` as False.
        if value is False:
            return "off"
        if value is True:
            return "lead_country"
        return value

    @field_validator("holidays")
    @classmethod
    def _holidays_value(cls, value: str) -> str:
        if value in ("lead_country", "off") or re.fullmatch(r"[A-Z]{2}", value):
            return value
        raise ValueError('holidays must be "lead_country", "off" or a country code such as DE')

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                pendulum.timezone(value)
            except Exception as exc:
                raise ValueError(f"unknown time zone {brief(value)}") from exc
        return value


class _Step(_Model):
    id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="Stable, unique id: letters, digits, . _ - (versions map steps by id)",
    )
    day: int = Field(
        ge=1, le=365, description="Day 1 is the start day; weekends and holidays are not days"
    )


class EmailStep(_Step):
    """An email: sent by the engine (auto_email) or reviewed and sent by the rep
    (manual_email)."""

    type: Literal["auto_email", "manual_email"] = Field(
        description="auto_email: the engine sends it; manual_email: a task for the rep to send"
    )
    subject: str | None = Field(
        default=None, description="A template; needed unless the email threads"
    )
    body: str = Field(description='A template: {{first_name}}, {{company | default: "you"}}')
    send_at: str | None = Field(
        default=None,
        description='"HH:MM", immediately, or same_as_previous (default: default_send_time)',
        json_schema_extra={"pattern": f"^(immediately|same_as_previous|{_HHMM_PATTERN})$"},
    )
    thread: bool = Field(default=False, description="Goes out as a reply to the previous email")
    cc: list[EmailAddress] = Field(default_factory=list, description="Copies to these addresses")
    bcc: list[EmailAddress] = Field(
        default_factory=list, description="Blind copies (never in a header)"
    )
    # Transactional mail: no unsubscribe footer or List-Unsubscribe headers, and (as in the
    # product we follow) no unsubscribe check; blocked domains and bounces still apply.
    non_commercial: bool = Field(
        default=False, description="Transactional: no unsubscribe footer, headers or check"
    )

    @field_validator("send_at")
    @classmethod
    def _send_at(cls, value: str | None) -> str | None:
        if value is None or value in ("immediately", "same_as_previous"):
            return value
        parse_hhmm(value)
        return value


class TaskStep(_Step):
    """A task for the rep (a call, a LinkedIn or InMail message, anything else); the
    enrollment waits until it is completed or skipped."""

    type: Literal["call", "linkedin", "inmail", "custom"] = Field(description="The kind of task")
    title: str = Field(description='The task\'s title, a template: "Call {{first_name}}"')
    notes: str | None = Field(default=None, description="Notes for the rep")
    priority: Literal["high", "normal", "low"] = Field(
        default="normal", description="The task's priority"
    )
    autoskip_after: str | None = Field(
        default=None,
        description='Skip the task when it is still open this long after it fell due: "4h", "2d"',
        json_schema_extra={"pattern": r"^\d+\s*(m|h|d)$"},
    )

    def autoskip_delay(self) -> timedelta | None:
        """``autoskip_after`` as a duration ("30m", "4h", "2d"), or None."""
        if self.autoskip_after is None:
            return None
        found = _DURATION.match(self.autoskip_after)
        assert found is not None
        amount, unit = int(found.group(1)), found.group(2)
        return {"m": timedelta(minutes=amount), "h": timedelta(hours=amount)}.get(
            unit, timedelta(days=amount)
        )

    @field_validator("autoskip_after")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and not _DURATION.match(value):
            raise ValueError('autoskip_after must look like "30m", "4h" or "2d"')
        return value


Step = Annotated[EmailStep | TaskStep, Field(discriminator="type")]

# Each step type and the model of its steps.
STEP_MODELS: dict[str, type[EmailStep] | type[TaskStep]] = {
    name: model
    for model in (EmailStep, TaskStep)
    for name in get_args(model.model_fields["type"].annotation)
}

# Step types the enrollment workflow runs today; the others validate but are refused on publish.
SUPPORTED_STEP_TYPES = frozenset(
    {"auto_email", "manual_email", "call", "linkedin", "inmail", "custom"}
)

# Validation context of a publish: the checks across steps are left to the caller, which runs
# them (cross_step_problems) even when some steps do not validate.
FIELDS_ONLY = {"fields_only": True}

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class StepFacts:
    """What the checks across steps read of one step. None where a value is missing or does
    not validate (its own error says so): the checks that need it are left out, so one
    mistake is reported once."""

    id: str | None = None
    day: int | None = None
    type: str | None = None  # None: not a known step type (so it may be an email)
    thread: bool | None = None
    has_subject: bool | None = None
    send_at: str | None = None
    texts: tuple[tuple[str, str], ...] = ()  # (field, template) of the readable templates

    @classmethod
    def of(cls, step: EmailStep | TaskStep) -> StepFacts:
        if isinstance(step, EmailStep):
            texts = (("subject", step.subject or ""), ("body", step.body))
            return cls(step.id, step.day, step.type, step.thread, bool(step.subject),
                       step.send_at, texts)  # fmt: skip
        return cls(step.id, step.day, step.type, texts=(("title", step.title),))


def cross_step_problems(steps: Sequence[StepFacts]) -> list[tuple[Loc, str]]:
    """Every problem that spans steps, as (loc, message), in order: duplicate ids, days that
    go backwards, threads and same_as_previous without an earlier email, an email without a
    subject that does not thread, unknown template fields and prompts outside manual
    emails."""
    found: list[tuple[Loc, str]] = []
    seen: set[str] = set()
    previous_day = 1
    had_email = False
    for index, step in enumerate(steps):
        where: Loc = ("steps", index)
        if step.id is not None:
            if step.id in seen:
                found.append(((*where, "id"), f"duplicate step id {brief(step.id)}"))
            seen.add(step.id)
        if step.day is not None:
            if step.day < previous_day:
                found.append((
                    (*where, "day"),
                    f"day {step.day} comes before the previous step's day {previous_day}",
                ))  # fmt: skip
            previous_day = max(previous_day, step.day)
        model = STEP_MODELS.get(step.type) if step.type is not None else None
        if model is EmailStep:
            if step.thread and not had_email:
                found.append(
                    ((*where, "thread"), "thread: true needs an earlier email to reply to")
                )
            if step.thread is False and step.has_subject is False:
                found.append((where, "an email that does not thread needs a subject"))
            if step.send_at == "same_as_previous" and not had_email:
                found.append(((*where, "send_at"), "same_as_previous needs an earlier email"))
        prompts = model is None or step.type == "manual_email"  # (an unknown type: not known)
        for field_name, text in step.texts:
            for message in template_problems(text, prompts_allowed=prompts):
                found.append(((*where, field_name), message))
        had_email = had_email or model is not TaskStep
    return found


class Playbook(_Model):
    """A campaign: its settings and its steps, in order."""

    name: str = Field(min_length=1, max_length=200, description="The campaign's name")
    description: str | None = Field(default=None, description="What the campaign is for")
    settings: PlaybookSettings = Field(
        default_factory=PlaybookSettings, description="How the whole campaign sends"
    )
    steps: list[Step] = Field(
        min_length=1,
        max_length=MAX_STEPS,
        description="Emails and tasks, in order; each step's keys depend on its type",
    )

    @model_validator(mode="after")
    def _coherent(self, info: ValidationInfo) -> Playbook:
        if info.context == FIELDS_ONLY:
            return self
        problems = self.problems()
        if problems:
            raise ValueError("\n".join(f"{path}: {message}" for path, message in problems))
        return self

    def problems(self) -> list[tuple[str, str]]:
        """Every problem that spans fields or steps, as (path, message), in order."""
        facts = [StepFacts.of(step) for step in self.steps]
        return [
            (".".join(str(part) for part in loc), message)
            for loc, message in cross_step_problems(facts)
        ]

    def unsupported_steps(self) -> list[tuple[int, str]]:
        return [(i, s.type) for i, s in enumerate(self.steps) if s.type not in SUPPORTED_STEP_TYPES]
