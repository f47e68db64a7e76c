"""Small builders for test data."""

from __future__ import annotations

from typing import Any

from cadence.domain.contracts import EnrollmentInput, OwnerSnapshot, PersonSnapshot
from cadence.domain.playbook_yaml import parse_playbook

THREE_EMAILS = """
name: Outbound - new leads
description: Three touches over a week
settings:
  timezone: Europe/Berlin
steps:
  - id: intro
    day: 1
    type: auto_email
    send_at: immediately
    subject: "Quick question, {{first_name}}"
    body: "Hi {{first_name | default: \\"there\\"}}, are you the right person at {{company}}?"
  - id: follow-up
    day: 3
    type: auto_email
    thread: true
    body: Just bumping this up.
  - id: last
    day: 5
    type: auto_email
    send_at: "14:30"
    subject: "Last note for {{company_friendly}}"
    body: "I'll stop here. {{my_name}}"
"""


def enrollment_input(
    playbook_yaml: str = THREE_EMAILS, timezone: str | None = "America/New_York", **kw: Any
) -> EnrollmentInput:
    return EnrollmentInput(
        enrollment_id=kw.pop("enrollment_id", 1),
        campaign_id=kw.pop("campaign_id", 7),
        campaign_name="Outbound - new leads",
        campaign_version=1,
        person=PersonSnapshot(
            id=kw.pop("person_id", 42),
            email="ada@example.com",
            first_name="Ada",
            timezone=timezone,
            timezone_source=kw.pop("timezone_source", "state" if timezone else None),
            country=kw.pop("country", None),
            country_source=kw.pop("country_source", None),
        ),
        owner=OwnerSnapshot(id=3, name="Rita Rep", email="rita@seller.example"),
        playbook=parse_playbook(playbook_yaml),
        **kw,
    )


PLAYBOOK = """\
name: API test
settings: {skip_weekends: false, holidays: "off", send_window: {start: "00:00", end: "23:59"}}
steps:
  - id: intro
    day: 1
    type: auto_email
    send_at: immediately
    subject: "Hello {{first_name}}"
    body: "Hi {{first_name}}, a quick question."
  - id: later
    day: 3
    type: auto_email
    subject: Still there?
    body: Following up.
"""
