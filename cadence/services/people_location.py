"""A person's zone and country in the database: the values in use recomputed from Marketo's
location and a rep's overrides (cadence/location.py), and the running enrollments told when
they change.

Telling them cannot be part of the transaction that changes the person, so it is an outbox:
every change of the zone or country in use bumps ``Person.location_version``; whoever tells
the person's running enrollments (the override route at once, the people sync for the rest)
then moves ``location_notified`` up to the version told. A change whose telling failed (the
API lost Temporal, a worker died) is still pending, and the next people sync tells it.
Enrollments ignore a version they already have, so telling twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, update
from sqlmodel import Session, col, select

from cadence.core.models import CampaignVersion, Enrollment, Person, User
from cadence.domain.contracts import (
    RUNNING_STATUSES,
    LocationChange,
    LocationNotices,
    LocationSignal,
)
from cadence.domain.location import LeadLocation, derive
from cadence.domain.playbook import Playbook
from cadence.services.enrolling import lead_calendar

# LeadLocation field -> Person column
LOCATION_COLUMNS: dict[str, str] = {
    "country": "address_country",
    "state": "address_state",
    "city": "address_city",
    "postal_code": "address_postal_code",
    "phone": "phone",
    "mobile_phone": "mobile_phone",
    "inferred_country": "inferred_country",
    "inferred_state": "inferred_state",
    "inferred_city": "inferred_city",
}
IN_USE = ("timezone", "timezone_source", "country", "country_source")


def in_use(row: Mapping[str, Any]) -> dict[str, str | None]:
    """The zone and country in use for a person's columns (overrides first), with sources."""
    location = LeadLocation(
        **{field: row.get(column) for field, column in LOCATION_COLUMNS.items()}
    )
    found = derive(location, row.get("timezone_override"), row.get("country_override"))
    return {
        "timezone": found.timezone,
        "timezone_source": found.timezone_source.value if found.timezone_source else None,
        "country": found.country,
        "country_source": found.country_source.value if found.country_source else None,
    }


def recompute(person: Person) -> bool:
    """Set the zone and country in use from the person's location and overrides; True (and a
    new location version) when anything of them changed."""
    values = in_use(person.model_dump())
    if all(getattr(person, name) == values[name] for name in IN_USE):
        return False
    for name, value in values.items():
        setattr(person, name, value)
    person.location_version += 1
    return True


def set_overrides(
    person: Person, changes: Mapping[str, str | None], user_id: int, now: datetime
) -> bool:
    """A rep's or admin's ``timezone`` and/or ``country`` (None clears it: the derived value
    is back), remembered with who and when; True when what is in use changed."""
    for name, value in changes.items():
        setattr(person, f"{name}_override", value)
        setattr(person, f"{name}_override_by", user_id if value else None)
        setattr(person, f"{name}_override_at", now if value else None)
    return recompute(person)


class _Lookups:
    """Owners and playbooks, read once per batch of notices."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.owners: dict[int, str | None] = {}
        self.playbooks: dict[tuple[int, int], Playbook] = {}

    def owner_tz(self, user_id: int) -> str | None:
        if user_id not in self.owners:
            owner = self.session.get(User, user_id)
            self.owners[user_id] = owner.timezone if owner else None
        return self.owners[user_id]

    def playbook(self, campaign_id: int, version: int) -> Playbook:
        key = (campaign_id, version)
        if key not in self.playbooks:
            row = self.session.exec(
                select(CampaignVersion).where(
                    CampaignVersion.campaign_id == campaign_id, CampaignVersion.version == version
                )
            ).one()
            self.playbooks[key] = Playbook.model_validate(row.playbook)
        return self.playbooks[key]


def location_change(lookups: _Lookups, person: Person, row: Enrollment) -> LocationChange:
    """What one running enrollment of the person takes: the person's zone, the calendar's
    country and its holidays (from the enrollment's start, as when it was enrolled)."""
    playbook = lookups.playbook(row.campaign_id, row.campaign_version)
    snapshot, holidays = lead_calendar(
        person, lookups.owner_tz(row.owner_id), playbook, row.created_at.date()
    )
    return LocationChange(
        version=person.location_version,
        timezone=snapshot.timezone,
        timezone_source=snapshot.timezone_source,
        country=snapshot.country,
        country_source=snapshot.country_source,
        holiday_dates=holidays,
    )


def pending_notices(
    session: Session, limit: int, person_ids: Sequence[int] | None = None
) -> LocationNotices:
    """The changes still to tell running enrollments (at most ``limit`` signals, whole people
    at a time; the rest wait). People without a running enrollment have nobody to tell:
    they are marked told at once (the caller commits)."""
    running = exists().where(
        col(Enrollment.person_id) == col(Person.id),
        col(Enrollment.status).in_(RUNNING_STATUSES),
    )
    pending = col(Person.location_version) > col(Person.location_notified)
    scope = [pending] if person_ids is None else [pending, col(Person.id).in_(person_ids)]
    session.execute(
        update(Person)
        .where(*scope, ~running)
        .values(location_notified=Person.location_version)
        .execution_options(synchronize_session=False)
    )
    notices = LocationNotices()
    lookups = _Lookups(session)
    people = session.exec(select(Person).where(*scope).order_by(col(Person.id))).all()
    for person in people:
        assert person.id is not None
        rows = session.exec(
            select(Enrollment).where(
                Enrollment.person_id == person.id, col(Enrollment.status).in_(RUNNING_STATUSES)
            )
        ).all()
        if notices.signals and len(notices.signals) + len(rows) > limit:
            break
        for row in rows:
            change = location_change(lookups, person, row)
            notices.signals.append(LocationSignal(workflow_id=row.workflow_id, change=change))
        notices.versions[person.id] = person.location_version
    return notices


def mark_notified(session: Session, versions: Mapping[int, int]) -> None:
    """The people's running enrollments were told up to these versions (the caller commits)."""
    for person_id, version in versions.items():
        session.execute(
            update(Person)
            .where(col(Person.id) == person_id, col(Person.location_notified) < version)
            .values(location_notified=version)
            .execution_options(synchronize_session=False)
        )
