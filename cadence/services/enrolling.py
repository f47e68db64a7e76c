"""Enrolling people into a campaign: the database rows, checked and written first
(api/enrolling.py then starts the workflows).

The (campaign, person) row is written and committed before ``start_workflow``; the start uses
USE_EXISTING / REJECT_DUPLICATE, so a repeated or retried request never makes a second
enrollment, and a request that failed after the commit is completed by repeating it.

A person whose enrollment's run stopped without finishing (status ``failed``: terminated,
failed, timed out, gone) can be enrolled again: a new row (the old one stays as the record) and
a new workflow id, ``enrollment/{campaign}/{person}/{attempt}``, so its emails, tasks and log
records never collide with the stopped run's. A request that finds the database saying
"running" for a run Temporal has closed (the start is refused) records how it ended first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import holidays as holidays_lib
from sqlmodel import Session, col, select

from cadence.core.models import (
    ActivityKind,
    Campaign,
    CampaignVersion,
    Enrollment,
    EnrollmentStatus,
    Person,
    User,
    utcnow,
)
from cadence.domain.calendar import resolve_zone
from cadence.domain.contracts import (
    RUNNING_STATUSES,
    EnrollmentInput,
    OwnerSnapshot,
    PersonSnapshot,
    enrollment_workflow_id,
)
from cadence.domain.location import Source, country_of_zone
from cadence.domain.playbook import Playbook
from cadence.services.activity_log import record_activity


@dataclass
class EnrollmentOutcome:
    person_id: int
    enrollment_id: int | None
    workflow_id: str | None
    result: str  # enrolled | already_enrolled | unsubscribed
    start: EnrollmentInput | None = None
    owner_id: int | None = None  # the rep whose enrollment it is
    run_closed: bool = False  # the row says running, but Temporal refused: its run is closed


def holiday_dates(playbook: Playbook, country: str | None, start: date) -> list[date]:
    """Public holidays for the enrollment's calendar: the year before ``start`` (a UTC date:
    the lead's own date may still be in that year, on New Year's Eve in America, and an
    observed holiday may fall there, e.g. 31 December for a Saturday New Year's Day), its
    year and the next two."""
    setting = playbook.settings.holidays
    code = country if setting == "lead_country" else (None if setting == "off" else setting)
    if not code:
        return []
    try:
        calendar = holidays_lib.country_holidays(
            code.upper(), years=range(start.year - 1, start.year + 3)
        )
    except NotImplementedError:
        return []
    return sorted(calendar.keys())


def lead_calendar(
    person: Person, owner_tz: str | None, playbook: Playbook, start: date
) -> tuple[PersonSnapshot, list[date]]:
    """The person as an enrollment sees them, and the holidays of its calendar. The calendar's
    country is the lead's, else the country of the zone the enrollment is in (the owner's or
    the playbook's: a lead in Berlin's zone keeps German holidays)."""
    snapshot = PersonSnapshot.model_validate(person, from_attributes=True)
    if not snapshot.country:
        zone, _ = resolve_zone(
            snapshot.timezone, snapshot.timezone_source, owner_tz, playbook.settings
        )
        snapshot.country = country_of_zone(zone)
        snapshot.country_source = Source.zone.value if snapshot.country else None
    return snapshot, holiday_dates(playbook, snapshot.country, start)


def prepare(
    session: Session, campaign: Campaign, people: list[Person], owner: User
) -> list[EnrollmentOutcome]:
    """Write the enrollment rows (and their "Add to Sales Campaign" activity) and commit."""
    version = session.exec(
        select(CampaignVersion).where(
            CampaignVersion.campaign_id == campaign.id,
            CampaignVersion.version == campaign.current_version,
        )
    ).one()
    playbook = Playbook.model_validate(version.playbook)
    assert campaign.id is not None and owner.id is not None
    outcomes: list[EnrollmentOutcome] = []
    for person in people:
        assert person.id is not None
        rows = session.exec(
            select(Enrollment)
            .where(Enrollment.campaign_id == campaign.id, Enrollment.person_id == person.id)
            .order_by(col(Enrollment.id))
        ).all()
        row = next((r for r in rows if r.status != EnrollmentStatus.failed), None)
        if row is None and person.unsubscribed:
            outcomes.append(EnrollmentOutcome(person.id, None, None, "unsubscribed"))
            continue
        created = row is None
        if row is None:
            row = Enrollment(
                campaign_id=campaign.id,
                campaign_version=version.version,
                person_id=person.id,
                owner_id=owner.id,
                workflow_id=enrollment_workflow_id(campaign.id, person.id, len(rows) + 1),
            )
            session.add(row)
            session.flush()
            record_activity(
                session,
                key=f"{row.workflow_id}/add_to_campaign",
                kind=ActivityKind.add_to_campaign,
                person_id=person.id,
                subject=campaign.name,
                campaign_id=campaign.id,
                enrollment_id=row.id,
                user_id=owner.id,
                details={"campaign_name": campaign.name, "campaign_version": version.version},
            )
        assert row.id is not None
        start = None
        if row.status in RUNNING_STATUSES:
            row_owner = owner if row.owner_id == owner.id else session.get(User, row.owner_id)
            assert row_owner is not None and row_owner.id is not None
            snapshot, holidays = lead_calendar(
                person, row_owner.timezone, playbook, utcnow().date()
            )
            start = EnrollmentInput(
                enrollment_id=row.id,
                campaign_id=campaign.id,
                campaign_name=campaign.name,
                campaign_version=row.campaign_version,
                person=snapshot,
                owner=OwnerSnapshot(
                    id=row_owner.id,
                    name=row_owner.name,
                    email=row_owner.email,
                    title=row_owner.title,
                    timezone=row_owner.timezone,
                ),
                playbook=playbook,
                holiday_dates=holidays,
                location_version=person.location_version,
            )
        outcomes.append(
            EnrollmentOutcome(
                person.id,
                row.id,
                row.workflow_id,
                "enrolled" if created else "already_enrolled",
                start,
                row.owner_id,
            )
        )
    session.commit()
    return outcomes
