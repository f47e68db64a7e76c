"""An independent statement of when each step of a playbook falls due."""

from __future__ import annotations

from datetime import datetime

from cadence.domain.calendar import SendingCalendar, day_one, planned_due
from cadence.domain.playbook import Playbook
from cadence.services.enrolling import holiday_dates


def schedule(
    playbook: Playbook, start: datetime, tz: str, country: str | None = None
) -> list[datetime]:
    """Due instants of every step, each email sent the moment it falls due."""
    calendar = SendingCalendar(
        playbook.settings, frozenset(holiday_dates(playbook, country, start.date()))
    )
    first = day_one(calendar, start, tz)
    dues: list[datetime] = []
    for index in range(len(playbook.steps)):
        eligible = dues[-1] if dues else start
        previous = dues[-1] if dues else None
        dues.append(planned_due(playbook, calendar, index, tz, first, eligible, previous))
    return dues
