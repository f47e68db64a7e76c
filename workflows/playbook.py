"""The playbook: what a campaign author writes (YAML), validated. Pure data, safe in workflows.

The shape is the contract authors write against; see docs/playbooks.md.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pendulum  # validators run inside the sandbox when inputs are decoded

    from cadence.templates import template_problems
    from cadence.text import brief

# What a playbook may be, checked when one is published (cadence.playbooks, POST /campaigns),
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
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
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
]
"""A wall-clock time written and stored as "HH:MM"."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SendWindow(_Model):
    start: LocalTime = time(8, 0)
    end: LocalTime = time(18, 0)

    @model_validator(mode="after")
    def _ordered(self) -> SendWindow:
        if self.start >= self.end:
            raise ValueError("send_window.start must be before send_window.end")
        return self


class OooSettings(_Model):
    action: Literal["ignore", "pause_until_return"] = "ignore"
    default_days: int = Field(default=7, ge=1, le=90)
    max_days: int = Field(default=21, ge=1, le=365)


class PlaybookSettings(_Model):
    skip_weekends: bool = True
    holidays: str = "lead_country"
    blackout_dates: list[date] = Field(default_factory=list)
    timezone: str | None = None
    send_window: SendWindow = Field(default_factory=SendWindow)
    default_send_time: LocalTime = time(9, 0)
    on_reply: Literal["end", "end_success"] = "end"
    on_ooo: OooSettings = Field(default_factory=OooSettings)
    remove_on_bounce: bool = True

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
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    day: int = Field(ge=1, le=365)


class EmailStep(_Step):
    type: Literal["auto_email", "manual_email"]
    subject: str | None = None
    body: str
    send_at: str | None = None
    thread: bool = False
    cc: list[EmailAddress] = Field(default_factory=list)
    bcc: list[EmailAddress] = Field(default_factory=list)
    # Transactional mail: no unsubscribe footer or List-Unsubscribe headers, and (as in the
    # product we follow) no unsubscribe check; blocked domains and bounces still apply.
    non_commercial: bool = False

    @field_validator("send_at")
    @classmethod
    def _send_at(cls, value: str | None) -> str | None:
        if value is None or value in ("immediately", "same_as_previous"):
            return value
        parse_hhmm(value)
        return value


class TaskStep(_Step):
    type: Literal["call", "linkedin", "inmail", "custom"]
    title: str
    notes: str | None = None
    priority: Literal["high", "normal", "low"] = "normal"
    autoskip_after: str | None = None

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

# Step types the enrollment workflow runs today; the others validate but are refused on publish.
SUPPORTED_STEP_TYPES = frozenset(
    {"auto_email", "manual_email", "call", "linkedin", "inmail", "custom"}
)


class Playbook(_Model):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    settings: PlaybookSettings = Field(default_factory=PlaybookSettings)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _coherent(self) -> Playbook:
        problems = self.problems()
        if problems:
            raise ValueError("\n".join(f"{path}: {message}" for path, message in problems))
        return self

    def problems(self) -> list[tuple[str, str]]:
        """Every problem that spans fields or steps, as (path, message), in order."""
        found: list[tuple[str, str]] = []
        seen: set[str] = set()
        previous_day = 1
        had_email = False
        for index, step in enumerate(self.steps):
            where = f"steps.{index}"
            if step.id in seen:
                found.append((f"{where}.id", f"duplicate step id {brief(step.id)}"))
            seen.add(step.id)
            if step.day < previous_day:
                found.append((
                    f"{where}.day",
                    f"day {step.day} comes before the previous step's day {previous_day}",
                ))  # fmt: skip
            previous_day = max(previous_day, step.day)
            if isinstance(step, EmailStep):
                if step.thread and not had_email:
                    found.append(
                        (f"{where}.thread", "thread: true needs an earlier email to reply to")
                    )
                if not step.thread and not step.subject:
                    found.append((where, "an email that does not thread needs a subject"))
                if step.send_at == "same_as_previous" and not had_email:
                    found.append((f"{where}.send_at", "same_as_previous needs an earlier email"))
                prompts = step.type == "manual_email"
                for field_name in ("subject", "body"):
                    text = getattr(step, field_name)
                    for message in template_problems(text or "", prompts_allowed=prompts):
                        found.append((f"{where}.{field_name}", message))
                had_email = True
            else:
                for message in template_problems(step.title, prompts_allowed=False):
                    found.append((f"{where}.title", message))
        return found

    def limit_problems(self) -> list[tuple[str, str]]:
        """What is over the publishing limits above, as (path, message). Not a validator:
        stored playbooks and running enrollments stay readable if a limit ever shrinks."""
        found: list[tuple[str, str]] = []

        def text(path: str, value: str | None, limit: int) -> None:
            if value is not None and len(value) > limit:
                found.append((path, f"{len(value)} characters; at most {limit}"))

        text("description", self.description, MAX_DESCRIPTION_CHARS)
        if len(self.settings.blackout_dates) > MAX_BLACKOUT_DATES:
            count = len(self.settings.blackout_dates)
            found.append(
                ("settings.blackout_dates", f"{count} dates; at most {MAX_BLACKOUT_DATES}")
            )
        for index, step in enumerate(self.steps):
            where = f"steps.{index}"
            if isinstance(step, EmailStep):
                text(f"{where}.subject", step.subject, MAX_LINE_CHARS)
                text(f"{where}.body", step.body, MAX_TEXT_CHARS)
                for name in ("cc", "bcc"):
                    count = len(getattr(step, name))
                    if count > MAX_ADDRESSES:
                        found.append(
                            (f"{where}.{name}", f"{count} addresses; at most {MAX_ADDRESSES}")
                        )
            else:
                text(f"{where}.title", step.title, MAX_LINE_CHARS)
                text(f"{where}.notes", step.notes, MAX_TEXT_CHARS)
        return found

    def unsupported_steps(self) -> list[tuple[int, str]]:
        return [(i, s.type) for i, s in enumerate(self.steps) if s.type not in SUPPORTED_STEP_TYPES]
