"""People's zone and country in the database: the people sync brings Marketo's location in
and derives them (saying why), never touches a rep's overrides, and queues the change for the
person's running enrollments (cadence/people_location.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, select
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment

from activities.people import PeopleActivities
from api.enrollment_calls import tell_location
from cadence.core.auth import create_user
from cadence.core.db import get_engine
from cadence.core.models import Campaign, CampaignVersion, Enrollment, Person, Role
from cadence.domain.contracts import LocationNoticesInput, PeopleSyncInput
from cadence.domain.playbook_yaml import parse_playbook
from cadence.services.people import PeopleSync
from cadence.services.people_location import set_overrides
from tests.utils.fakes import OWNER, Fakes, marketo_lead

PEOPLE = PeopleActivities(PeopleSync())
sync_people_from_marketo = PEOPLE.sync_people_from_marketo
location_notices, mark_location_notified = PEOPLE.location_notices, PEOPLE.mark_location_notified


async def sync() -> Any:
    return await ActivityEnvironment().run(sync_people_from_marketo, PeopleSyncInput())


def people() -> dict[str, Person]:
    with Session(get_engine()) as session:
        return {p.email: p for p in session.exec(select(Person)).all()}


def make_rep(timezone: str | None = None) -> int:
    with Session(get_engine()) as session:
        user, _ = create_user(session, name="Rita", email="rita@seller.test", role=Role.rep)
        user.timezone = timezone
        session.add(user)
        session.commit()
        assert user.id is not None
        return user.id


def in_use(person: Person) -> tuple[Any, ...]:
    return (person.timezone, person.timezone_source, person.country, person.country_source)


async def test_a_sync_brings_the_location_and_says_where_zone_and_country_came_from(
    fakes: Fakes,
) -> None:
    await marketo_lead(fakes, email="ada@example.com", sfdcLeadOwnerId=OWNER,
                       country="United States", state="NY", city="New York",
                       postalCode="10001", mobilePhone="+1 917 555 0100")  # fmt: skip
    await marketo_lead(fakes, email="bea@example.com", sfdcLeadOwnerId=OWNER,
                       country="Deutschland")  # fmt: skip
    await marketo_lead(fakes, email="cy@example.com", sfdcLeadOwnerId=OWNER,
                       phone="+44 20 7946 0000")  # fmt: skip
    dan = await marketo_lead(fakes, email="dan@example.com", sfdcLeadOwnerId=OWNER)
    await marketo_lead(fakes, email="eve@example.com", sfdcLeadOwnerId=OWNER)
    fakes.marketo.state.fake.fake_web_visit(dan, {"inferredCountry": "Japan",
                                                  "inferredCity": "Osaka"})  # fmt: skip
    assert (await sync()).created == 5  # the first sync: a bulk export
    got = people()
    ada = got["ada@example.com"]
    assert (
        ada.address_country,
        ada.address_state,
        ada.address_city,
        ada.address_postal_code,
        ada.mobile_phone,
    ) == ("United States", "NY", "New York", "10001", "+1 917 555 0100")
    assert in_use(ada) == ("America/New_York", "state", "US", "country")
    assert in_use(got["bea@example.com"]) == ("Europe/Berlin", "country", "DE", "country")
    assert in_use(got["cy@example.com"]) == ("Europe/London", "phone", "GB", "phone")
    dan_row = got["dan@example.com"]
    assert (dan_row.inferred_country, dan_row.inferred_city) == ("Japan", "Osaka")
    assert in_use(dan_row) == ("Asia/Tokyo", "inferred", "JP", "inferred")
    assert in_use(got["eve@example.com"]) == (None, None, None, None)

    # Incremental: a move changes the zone in use (a new location version), a new title not.
    await marketo_lead(fakes, email="ada@example.com", state="California")
    await marketo_lead(fakes, email="bea@example.com", title="CTO")
    await sync()
    again = people()
    assert in_use(again["ada@example.com"]) == ("America/Los_Angeles", "state", "US", "country")
    assert again["ada@example.com"].location_version == ada.location_version + 1
    assert again["bea@example.com"].title == "CTO"
    assert again["bea@example.com"].location_version == got["bea@example.com"].location_version


async def test_a_sync_keeps_overrides_and_clearing_one_brings_the_derived_value_back(
    fakes: Fakes,
) -> None:
    await marketo_lead(fakes, email="ada@example.com", sfdcLeadOwnerId=OWNER, country="USA",
                       state="NY")  # fmt: skip
    await sync()
    rep = make_rep()
    with Session(get_engine()) as session:
        person = session.exec(select(Person)).one()
        set_overrides(person, {"timezone": "Europe/London"}, rep, datetime.now(UTC))
        session.add(person)
        session.commit()
    await marketo_lead(fakes, email="ada@example.com", state="CA", country="US")
    await sync()
    ada = people()["ada@example.com"]
    assert (ada.timezone_override, ada.timezone_override_by) == ("Europe/London", rep)
    assert in_use(ada) == ("Europe/London", "override", "US", "country")
    assert ada.address_state == "CA"  # Marketo's data is kept beside the override
    with Session(get_engine()) as session:
        person = session.exec(select(Person)).one()
        assert set_overrides(person, {"timezone": None}, rep, datetime.now(UTC))
        assert in_use(person) == ("America/Los_Angeles", "state", "US", "country")
        assert (person.timezone_override_by, person.timezone_override_at) == (None, None)


LEAD_COUNTRY = parse_playbook(
    "name: P\nsettings: {holidays: lead_country}\nsteps:\n"
    "  - {id: a, day: 1, type: auto_email, subject: Hi, body: Hello}\n"
)


def enroll(person_id: int, user_id: int, workflow_id: str) -> None:
    """A running enrollment row (its workflow is not needed here)."""
    playbook = LEAD_COUNTRY
    with Session(get_engine()) as session:
        campaign = Campaign(name="P")
        session.add(campaign)
        session.flush()
        assert campaign.id is not None
        session.add(CampaignVersion(campaign_id=campaign.id, version=1, source_yaml="",
                                    playbook=playbook.model_dump(mode="json")))  # fmt: skip
        session.add(Enrollment(campaign_id=campaign.id, campaign_version=1, person_id=person_id,
                               owner_id=user_id, workflow_id=workflow_id,
                               created_at=datetime(2026, 12, 1, tzinfo=UTC)))  # fmt: skip
        session.commit()


async def test_a_change_is_queued_for_the_running_enrollments_until_told(fakes: Fakes) -> None:
    await marketo_lead(fakes, email="ada@example.com", sfdcLeadOwnerId=OWNER, country="US",
                       state="NY")  # fmt: skip
    await marketo_lead(fakes, email="bob@example.com", sfdcLeadOwnerId=OWNER, country="US")
    await sync()
    got = people()
    ada = got["ada@example.com"]
    enroll(ada.id or 0, make_rep(), "enrollment/1/ada")
    env = ActivityEnvironment()
    first = await env.run(location_notices, LocationNoticesInput())
    assert first.signals == [] and first.versions == {}  # nobody running had a change

    await marketo_lead(fakes, email="ada@example.com", country="Germany", state="")
    await marketo_lead(fakes, email="bob@example.com", country="France")
    await sync()
    notices = await env.run(location_notices, LocationNoticesInput())
    (signal,) = notices.signals
    change = signal.change
    assert signal.workflow_id == "enrollment/1/ada"
    assert (change.timezone, change.timezone_source, change.country, change.country_source) == (
        "Europe/Berlin", "country", "DE", "country")  # fmt: skip
    assert date(2026, 12, 25) in change.holiday_dates and date(2026, 10, 3) in change.holiday_dates
    version = people()["ada@example.com"].location_version
    assert change.version == version and notices.versions == {ada.id: version}
    bob = people()["bob@example.com"]
    assert bob.location_notified == bob.location_version > 0  # no enrollment: nobody to tell

    again = await env.run(location_notices, LocationNoticesInput())
    assert again.signals == notices.signals  # not told yet: still pending
    await env.run(mark_location_notified, notices)
    assert (await env.run(location_notices, LocationNoticesInput())).signals == []


async def test_the_calendar_country_is_the_zones_when_the_lead_has_none(fakes: Fakes) -> None:
    """A lead whose location says nothing: the enrollment is in its owner's zone, and the
    holidays are that zone's country's."""
    await marketo_lead(fakes, email="ada@example.com", sfdcLeadOwnerId=OWNER)
    await sync()
    ada = people()["ada@example.com"]
    rep = make_rep("Europe/Paris")
    enroll(ada.id or 0, rep, "enrollment/1/ada")
    with Session(get_engine()) as session:
        person = session.exec(select(Person)).one()
        person.location_version += 1  # as if something had changed since the enrollment
        session.add(person)
        session.commit()
    notices = await ActivityEnvironment().run(location_notices, LocationNoticesInput())
    (signal,) = notices.signals
    assert (signal.change.timezone, signal.change.country, signal.change.country_source) == (
        None, "FR", "zone")  # fmt: skip
    assert date(2026, 7, 14) in signal.change.holiday_dates  # French holidays


async def test_notices_come_a_batch_at_a_time(fakes: Fakes) -> None:
    rep = make_rep()
    with Session(get_engine()) as session:
        for i in range(3):
            session.add(Person(id=i + 1, email=f"p{i}@example.com", location_version=1))
        session.commit()
    for i in range(3):
        enroll(i + 1, rep, f"enrollment/{i}/a")
        enroll(i + 1, rep, f"enrollment/{i}/b")
    env = ActivityEnvironment()
    batch = await env.run(location_notices, LocationNoticesInput(limit=3))
    assert sorted(batch.versions) == [1]  # whole people only: 2 signals, a third would split
    assert len(batch.signals) == 2
    await env.run(mark_location_notified, batch)
    rest = await env.run(location_notices, LocationNoticesInput(limit=10))
    assert sorted(rest.versions) == [2, 3] and len(rest.signals) == 4


class Temporal(Client):
    """A client whose every signal fails with ``error`` (Temporal down, or the run gone). It
    connects nowhere, so ``Client.__init__`` (which needs a connection) is not called."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_workflow_handle_for(self, *args: Any, **kwargs: Any) -> WorkflowHandle[Any, Any]:
        return Unreachable(self, self.error)


class Unreachable(WorkflowHandle[Any, Any]):
    """The handle ``Temporal`` gives: signalling it raises the client's error."""

    def __init__(self, client: Client, error: Exception) -> None:
        super().__init__(client, "unreachable")
        self.error = error

    async def signal(self, *args: Any, **kwargs: Any) -> None:
        raise self.error


async def test_a_change_temporal_could_not_deliver_stays_pending_for_the_sync(
    database: str,
) -> None:
    rep = make_rep()
    with Session(get_engine()) as session:
        session.add(Person(id=1, email="ada@example.com", location_version=1))
        session.commit()
    enroll(1, rep, "enrollment/1/ada")
    down = RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
    with Session(get_engine()) as session:
        assert await tell_location(session, Temporal(down), 1) == (0, 1)
    notices = await ActivityEnvironment().run(location_notices, LocationNoticesInput())
    assert [s.workflow_id for s in notices.signals] == ["enrollment/1/ada"]  # still pending
    gone = RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")
    with Session(get_engine()) as session:
        assert await tell_location(session, Temporal(gone), 1) == (0, 0)
    assert (await ActivityEnvironment().run(location_notices, LocationNoticesInput())).signals == []
