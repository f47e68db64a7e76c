"""Calendar maths: sending days and due instants in the lead's time zone. Pure and
deterministic (no clock reads); the enrollment workflow passes ``workflow.now()`` in.

The rules are written out in docs/playbooks.md.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pendulum

    from cadence.domain.playbook import EmailStep, Playbook, PlaybookSettings


# Why an enrollment is in its zone, in the words of the Temporal UI's details line: the
# lead's own (cadence.domain.location.Source; "lead" for a zone whose origin was not recorded), then
# the enrollment's fallbacks.
ZONE_REASONS: dict[str, str] = {
    "override": "set for the lead by a rep",
    "state": "from the lead's state",
    "country": "from the lead's country",
    "phone": "from the lead's phone number",
    "inferred": "from the lead's inferred location",
    "lead": "the lead's",
    "owner": "the owner's, the lead's is not known",
    "playbook": "the campaign's, the lead's is not known",
    "default": "no zone known",
}


def resolve_zone(
    person_tz: str | None,
    person_source: str | None,
    owner_tz: str | None,
    settings: PlaybookSettings,
) -> tuple[str, str]:
    """The zone an enrollment uses and why (a ZONE_REASONS key): the lead's zone, else the
    owner's, else the campaign default, else UTC."""
    for candidate, source in (
        (person_tz, person_source or "lead"),
        (owner_tz, "owner"),
        (settings.timezone, "playbook"),
    ):
        if candidate:
            try:
                pendulum.timezone(candidate)
            except Exception:  # an unknown zone on a record must not break the cadence
                continue
            return candidate, source
    return "UTC", "default"


def resolve_timezone(
    person_tz: str | None, owner_tz: str | None, settings: PlaybookSettings
) -> str:
    """The lead's zone, else the owner's, else the campaign default, else UTC."""
    return resolve_zone(person_tz, None, owner_tz, settings)[0]


class SendingCalendar:
    """Which dates are sending days for one enrollment."""

    def __init__(self, settings: PlaybookSettings, holiday_dates: frozenset[date] = frozenset()):
        self.settings = settings
        self.blocked = frozenset(settings.blackout_dates) | holiday_dates

    def is_sending_day(self, day: date) -> bool:
        if self.settings.skip_weekends and day.weekday() >= 5:
            return False
        return day not in self.blocked

    def first_sending_day(self, on_or_after: date) -> date:
        day = on_or_after
        for _ in range(3660):
            if self.is_sending_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError("no sending day within ten years")

    def add_sending_days(self, start: date, count: int) -> date:
        day = start
        for _ in range(count):
            day = self.first_sending_day(day + timedelta(days=1))
        return day

    def day_date(self, day1: date, day_number: int) -> date:
        """Day 1 is ``day1``; Day N is the (N-1)-th sending day after it."""
        return self.add_sending_days(day1, day_number - 1)

    def sending_days_between(self, after: date, up_to: date) -> int:
        """How many sending days fall in (after, up_to]: what a pause from ``after`` to
        ``up_to`` costs every later step."""
        count, day = 0, after + timedelta(days=1)
        while day <= up_to:
            count += self.is_sending_day(day)
            day += timedelta(days=1)
        return count

    def into_window(self, instant: datetime, tz: str) -> datetime:
        """Move an instant to the next send-window opening on a sending day, if needed."""
        window = self.settings.send_window
        local = pendulum.instance(instant).in_tz(tz)
        day: date = local.date()
        if self.is_sending_day(day) and window.start <= local.time() < window.end:
            return local
        if not self.is_sending_day(day) or local.time() >= window.end:
            day = self.first_sending_day(day + timedelta(days=1))
        return _at(day, window.start, tz)


def _at(day: date, clock: time, tz: str) -> datetime:
    """The instant a local wall-clock time names. A time skipped by a spring-forward change
    moves forward by the length of the gap (02:30 becomes 03:30); a time that happens twice
    at a fall-back change is the earlier of the two instants."""
    first, second = (
        pendulum.datetime(day.year, day.month, day.day, clock.hour, clock.minute, tz=tz, fold=f)
        for f in (0, 1)
    )
    named = [d for d in (first, second) if (d.hour, d.minute) == (clock.hour, clock.minute)]
    return min(named) if named else max(first, second)


def planned_due(
    playbook: Playbook,
    calendar: SendingCalendar,
    step_index: int,
    tz: str,
    day1: date,
    eligible_at: datetime,
    previous_email_at: datetime | None,
    day_shift: int = 0,
) -> datetime:
    """The instant a step falls due: the later of eligibility and its planned local time on its
    day (moved ``day_shift`` sending days later by pauses), moved into the send window on a
    sending day."""
    step = playbook.steps[step_index]
    day = calendar.day_date(day1, step.day + day_shift)
    clock: time | None = playbook.settings.default_send_time
    if isinstance(step, EmailStep) and step.send_at:
        if step.send_at == "immediately":
            clock = None
        elif step.send_at == "same_as_previous":
            clock = (
                pendulum.instance(previous_email_at).in_tz(tz).time().replace(second=0)
                if previous_email_at
                else playbook.settings.default_send_time
            )
        else:
            hour, minute = step.send_at.split(":")
            clock = time(int(hour), int(minute))
    planned = _at(day, clock or time(0, 0), tz)
    due = max(pendulum.instance(eligible_at), planned)
    return calendar.into_window(due, tz)


def day_one(calendar: SendingCalendar, started_at: datetime, tz: str) -> date:
    return calendar.first_sending_day(pendulum.instance(started_at).in_tz(tz).date())
