"""The activity log reaches the fake Marketo and the fake Salesforce (once, even when a response
is lost), and people come in from Marketo through the people sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.people import PeopleActivities
from activities.shipping import ShippingActivities
from cadence.core.config import get_settings
from cadence.core.db import get_engine
from cadence.core.models import ActivityKind, Person, ShipCursor, ShipOutcome, TaskStatus
from cadence.domain.contracts import PeopleSyncInput, ShipBatchInput
from cadence.integrations.marketo import MarketoClient
from cadence.services import shipping
from cadence.services.activity_log import record_activity
from cadence.services.people import PeopleSync
from tests.utils.fakes import OWNER, Fakes, marketo_lead

SHIPPING = ShippingActivities(shipping.Shipping())
ship_to_marketo, ship_to_salesforce = SHIPPING.ship_to_marketo, SHIPPING.ship_to_salesforce
sync_people_from_marketo = PeopleActivities(PeopleSync()).sync_people_from_marketo


def log_email(person_id: int, key: str, subject: str) -> None:
    with Session(get_engine()) as session:
        record_activity(
            session,
            key=key,
            kind=ActivityKind.send_email,
            person_id=person_id,
            subject=subject,
            details={"campaign_name": "Demo", "step_id": "intro", "sent_by": "rita@seller.test"},
        )
        session.commit()


def add_person(**fields: Any) -> int:
    with Session(get_engine()) as session:
        person = Person(**fields)
        session.add(person)
        session.commit()
        assert person.id is not None
        return person.id


async def test_sales_emails_are_shipped_to_marketo_once(fakes: Fakes) -> None:
    lead_id = await marketo_lead(fakes, email="ada@example.com", firstName="Ada")
    linked = add_person(email="ada@example.com", marketo_id=lead_id)
    unlinked = add_person(email="bob@example.com")
    log_email(linked, "wf-1/intro", "Hello Ada")
    log_email(unlinked, "wf-2/intro", "Hello Bob")

    env = ActivityEnvironment()
    first = await env.run(ship_to_marketo, ShipBatchInput(destination="marketo", limit=300))
    again = await env.run(ship_to_marketo, ShipBatchInput(destination="marketo", limit=300))

    assert (first.examined, first.shipped, first.deferred) == (2, 1, 1)
    assert again.examined == 0  # Bob waits until a sync links him to a Marketo lead
    async with httpx.AsyncClient(base_url=fakes.marketo_url) as http:
        stored = (await http.get("/_fake/activities", params={"leadId": lead_id})).json()
    emails = [a for a in stored if a["apiName"] == "cadenceSendSalesEmail"]
    assert [a["primaryAttributeValue"] for a in emails] == ["Hello Ada (CAD-00000001)"]
    assert emails[0]["attributes"]["campaignName"] == "Demo"


async def test_a_person_linked_later_gets_the_activities_that_waited(fakes: Fakes) -> None:
    bob = add_person(email="bob@example.com")
    log_email(bob, "wf-2/intro", "Hello Bob")
    env = ActivityEnvironment()
    waiting = await env.run(ship_to_marketo, ShipBatchInput(destination="marketo", limit=300))
    assert (waiting.deferred, waiting.shipped) == (1, 0)
    lead_id = await marketo_lead(fakes, email="bob@example.com", firstName="Bob")
    with Session(get_engine()) as session:
        person = session.get(Person, bob)
        assert person is not None
        person.marketo_id = lead_id  # what the people sync does
        session.add(person)
        session.commit()
    linked = await env.run(ship_to_marketo, ShipBatchInput(destination="marketo", limit=300))
    assert (linked.examined, linked.shipped) == (1, 1)
    assert (
        await env.run(ship_to_marketo, ShipBatchInput(destination="marketo", limit=300))
    ).examined == 0
    async with httpx.AsyncClient(base_url=fakes.marketo_url) as http:
        stored = (await http.get("/_fake/activities", params={"leadId": lead_id})).json()
    assert [a["primaryAttributeValue"] for a in stored
            if a["apiName"] == "cadenceSendSalesEmail"] == ["Hello Bob (CAD-00000001)"]  # fmt: skip


async def test_a_locked_salesforce_row_is_sent_again_not_dropped(fakes: Fakes) -> None:
    people = [add_person(email=f"p{i}@example.com", sfdc_lead_id=f"00Q00000000004{i}AAA")
              for i in range(3)]  # fmt: skip
    for i, person in enumerate(people):
        log_email(person, f"wf-{i}/intro", f"Hello {i}")
    env = ActivityEnvironment()
    async with httpx.AsyncClient(base_url=fakes.salesforce_url) as http:
        await http.post("/_fake/faults", json={"code": "UNABLE_TO_LOCK_ROW", "count": 1})
        with pytest.raises(ApplicationError) as refused:
            await env.run(ship_to_salesforce, ShipBatchInput(destination="salesforce", limit=200))
        assert not refused.value.non_retryable and "sent again" in str(refused.value)
        retried = await env.run(
            ship_to_salesforce, ShipBatchInput(destination="salesforce", limit=200)
        )
        tasks = (await http.get("/_fake/records/Task")).json()
    assert (retried.examined, retried.shipped) == (1, 1)
    expected = [f"[Cadence] - Email: Hello {i}" for i in range(3)]
    assert sorted(t["Subject"] for t in tasks) == expected


async def test_a_row_that_commits_late_is_still_shipped(
    fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL an earlier transaction may commit after a later one: the shipper may see
    id 2 before id 1 exists. Simulated by hiding row 1 from the first batch."""
    monkeypatch.setenv("CADENCE_SHIPPER_COMMIT_GRACE_SECONDS", "0")
    get_settings.cache_clear()
    person = add_person(email="ada@example.com", sfdc_lead_id="00Q000000000042AAA")
    log_email(person, "wf-1/intro", "Hello early")
    log_email(person, "wf-1/bump", "Hello late")
    real = shipping.load_batch
    monkeypatch.setattr(shipping, "load_batch", lambda d, n: real(d, n)[1:])  # row 1 in flight
    env = ActivityEnvironment()
    first = await env.run(ship_to_salesforce, ShipBatchInput(destination="salesforce", limit=200))
    assert first.shipped == 1
    monkeypatch.setattr(shipping, "load_batch", real)  # row 1 has committed
    second = await env.run(ship_to_salesforce, ShipBatchInput(destination="salesforce", limit=200))
    third = await env.run(ship_to_salesforce, ShipBatchInput(destination="salesforce", limit=200))
    assert (second.shipped, third.examined) == (1, 0)
    async with httpx.AsyncClient(base_url=fakes.salesforce_url) as http:
        subjects = sorted(t["Subject"] for t in (await http.get("/_fake/records/Task")).json())
    assert subjects == ["[Cadence] - Email: Hello early", "[Cadence] - Email: Hello late"]
    with Session(get_engine()) as session:
        cursor = session.get(ShipCursor, "salesforce")
        assert cursor is not None and cursor.last_id == 2  # and now past both


async def test_marketo_duplicates_come_only_from_ambiguous_failures_and_are_counted(
    fakes: Fakes,
) -> None:
    lead_id = await marketo_lead(fakes, email="ada@example.com", firstName="Ada")
    ada = add_person(email="ada@example.com", marketo_id=lead_id)
    env = ActivityEnvironment()
    batch = ShipBatchInput(destination="marketo", limit=300)
    async with httpx.AsyncClient(base_url=fakes.marketo_url) as http:
        # A definite refusal (606: nothing was done): the retry duplicates nothing.
        log_email(ada, "wf-1/intro", "First")
        adds = "activities/external.json"
        await http.post("/_fake/faults", json={"code": "606", "path_contains": adds})
        with pytest.raises(ApplicationError):
            await env.run(ship_to_marketo, batch)
        assert (await env.run(ship_to_marketo, batch)).possible_duplicates == 0
        # The connection drops after Marketo stored the rows: the retry may duplicate, and
        # says so.
        log_email(ada, "wf-1/bump", "Second")
        log_email(ada, "wf-1/last", "Third")
        await http.post("/_fake/faults", json={"drop_after_commit": True, "path_contains": adds})
        with pytest.raises(ApplicationError) as dropped:
            await env.run(ship_to_marketo, batch)
        assert not dropped.value.non_retryable
        retried = await env.run(ship_to_marketo, batch)
        assert (retried.shipped, retried.possible_duplicates) == (2, 2)
        assert (await env.run(ship_to_marketo, batch)).examined == 0
        stored = (await http.get("/_fake/activities", params={"leadId": lead_id})).json()
    sent = sorted(a["primaryAttributeValue"].split(" (")[0] for a in stored
                  if a["apiName"] == "cadenceSendSalesEmail")  # fmt: skip
    assert sent == ["First", "Second", "Second", "Third", "Third"]  # the two it counted
    with Session(get_engine()) as session:
        cursor = session.get(ShipCursor, "marketo")
        assert cursor is not None
        assert (cursor.possible_duplicates, cursor.ambiguous_retries) == (2, 1)


async def test_only_the_chosen_activities_become_tasks(
    fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CADENCE_SALESFORCE_LOG", '["emails"]')
    template = "{{sales_campaign_name}} / {{activity_type}}: {{activity_subject}}"
    monkeypatch.setenv("CADENCE_SALESFORCE_SUBJECT_TEMPLATE", template)
    get_settings.cache_clear()
    ada = add_person(email="ada@example.com", sfdc_lead_id="00Q000000000042AAA")
    log_email(ada, "wf-1/intro", "Hello Ada")
    with Session(get_engine()) as session:
        for kind in (ActivityKind.call, ActivityKind.open_email):
            record_activity(session, key=f"wf-1/{kind}", kind=kind, person_id=ada,
                            subject="Intro call", details={"outcome": "connected"})  # fmt: skip
        session.commit()
    result = await ActivityEnvironment().run(
        ship_to_salesforce, ShipBatchInput(destination="salesforce", limit=200)
    )
    async with httpx.AsyncClient(base_url=fakes.salesforce_url) as http:
        tasks = (await http.get("/_fake/records/Task")).json()
    assert (result.shipped, result.skipped) == (1, 2)
    assert [(t["Subject"], t["TaskSubtype"], t["Type"]) for t in tasks] == [
        ("Demo / Email: Hello Ada", "Email", "Email")
    ]
    with Session(get_engine()) as session:
        reasons = {o.reason for o in session.exec(select(ShipOutcome)).all()}
    assert "not logged to Salesforce (CADENCE_SALESFORCE_LOG)" in reasons


async def test_a_lost_salesforce_response_does_not_make_a_second_task(fakes: Fakes) -> None:
    person = add_person(email="ada@example.com", sfdc_lead_id="00Q000000000042AAA")
    log_email(person, "wf-1/intro", "Hello Ada")
    async with httpx.AsyncClient(base_url=fakes.salesforce_url) as http:
        await http.post("/_fake/faults", json={"drop_after_commit": True})
        env = ActivityEnvironment()
        with pytest.raises(ApplicationError) as lost:
            await env.run(ship_to_salesforce, ShipBatchInput(destination="salesforce", limit=200))
        assert not lost.value.non_retryable  # Temporal retries the batch
        retried = await env.run(
            ship_to_salesforce, ShipBatchInput(destination="salesforce", limit=200)
        )
        tasks = (await http.get("/_fake/records/Task")).json()
    assert retried.shipped == 1
    assert len(tasks) == 1
    assert tasks[0]["WhoId"] == "00Q000000000042AAA"
    assert tasks[0]["Subject"] == "[Cadence] - Email: Hello Ada"
    assert tasks[0]["Status"] == "Completed" and tasks[0]["Type"] == "Email"
    with Session(get_engine()) as session:
        cursor = session.get(ShipCursor, "salesforce")
        assert cursor is not None and cursor.shipped == 1


async def test_people_sync_brings_in_owned_leads_only(fakes: Fakes) -> None:
    await marketo_lead(
        fakes, email="Ada@Example.com", firstName="Ada", company="Acme", sfdcLeadOwnerId=OWNER,
        sfdcLeadId="00Q000000000042AAA",
    )  # fmt: skip
    await marketo_lead(fakes, email="nobody@example.com", firstName="No owner")
    env = ActivityEnvironment()
    result = await env.run(sync_people_from_marketo, PeopleSyncInput())
    assert (result.created, result.ignored_without_owner) == (1, 1)

    await marketo_lead(fakes, email="ada@example.com", title="CTO", sfdcLeadOwnerId=OWNER)
    second = await env.run(sync_people_from_marketo, PeopleSyncInput())
    assert (second.created, second.updated) == (0, 1)
    with Session(get_engine()) as session:
        people = session.exec(select(Person)).all()
    assert [(p.email, p.company, p.title, p.sfdc_lead_id) for p in people] == [
        ("ada@example.com", "Acme", "CTO", "00Q000000000042AAA")
    ]


async def test_the_first_sync_reads_every_lead_by_bulk_export_in_31_day_windows(
    fakes: Fakes,
) -> None:
    ids = [
        await marketo_lead(fakes, email=f"p{i}@example.com", firstName=f"P{i}",
                           sfdcLeadOwnerId=OWNER, sfdcLeadId=f"00Q00000000004{i}AAA",
                           linkedInProfileURL=f"https://linkedin.example/p{i}")
        for i in range(3)
    ]  # fmt: skip
    await marketo_lead(fakes, email="unowned@example.com", firstName="Nobody")
    fake = fakes.marketo.state.fake
    now = datetime.now(UTC)
    for lead_id, days in zip(ids, (100, 40, 0), strict=True):  # created over three months
        stamp = (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        fake.data["leads"][str(lead_id)]["createdAt"] = stamp
    fake.data["leads"][str(ids[2])]["unsubscribed"] = True
    result = await ActivityEnvironment().run(sync_people_from_marketo, PeopleSyncInput())
    assert (result.created, result.ignored_without_owner) == (3, 1)
    exports = fake.stats.by_path.get("/bulk/v1/leads/export/create.json", 0)
    assert exports >= 4  # 100 days of leads: four windows of 31 days at least
    assert fake.stats.by_path.get("/rest/v1/activities.json", 0) == 0  # no activity paging
    with Session(get_engine()) as session:
        people = {p.email: p for p in session.exec(select(Person)).all()}
    assert sorted(people) == ["p0@example.com", "p1@example.com", "p2@example.com"]
    p1 = people["p1@example.com"]
    assert (p1.marketo_id, p1.sales_owner, p1.sfdc_lead_id, p1.linkedin_url) == (
        ids[1], OWNER, "00Q000000000041AAA", "https://linkedin.example/p1")  # fmt: skip
    assert people["p2@example.com"].unsubscribed and not people["p0@example.com"].unsubscribed
    # the next sync is incremental: Marketo's lead changes from the token the first one stored
    again = await ActivityEnvironment().run(sync_people_from_marketo, PeopleSyncInput())
    assert again.created == 0
    assert fake.stats.by_path.get("/rest/v1/activities/leadchanges.json", 0) == 1
    assert fake.stats.by_path.get("/rest/v1/activities.json", 0) == 0


async def test_incremental_syncs_read_only_the_people_who_changed(fakes: Fakes) -> None:
    """After the first sync, a sync with nothing new is one call (lead changes from the stored
    paging token); a change in Marketo reaches the person at the next sync, and only the
    changed people are read again."""
    ada, bob = [
        await marketo_lead(fakes, email=f"{n}@example.com", firstName=n.title(),
                           sfdcLeadOwnerId=OWNER)
        for n in ("ada", "bob")
    ]  # fmt: skip
    fake = fakes.marketo.state.fake
    await ActivityEnvironment().run(sync_people_from_marketo, PeopleSyncInput())
    await ActivityEnvironment().run(sync_people_from_marketo, PeopleSyncInput())  # catches up
    before = dict(fake.stats.by_path)

    def calls() -> dict[str, int]:
        now = fake.stats.by_path
        return {p: n - before.get(p, 0) for p, n in now.items() if n != before.get(p, 0)}

    idle = await ActivityEnvironment().run(sync_people_from_marketo, PeopleSyncInput())
    assert (idle.created, idle.updated) == (0, 0)
    assert calls() == {"/rest/v1/activities/leadchanges.json": 1}
    with fake.state.lock:
        fake._update_lead(fake.data["leads"][str(bob)], {"title": "CFO"})
    before = dict(fake.stats.by_path)
    changed = await ActivityEnvironment().run(sync_people_from_marketo, PeopleSyncInput())
    assert changed.updated == 1
    assert calls() == {"/rest/v1/activities/leadchanges.json": 1, "/rest/v1/leads.json": 1}
    with Session(get_engine()) as session:
        titles = {p.marketo_id: p.title for p in session.exec(select(Person)).all()}
    assert titles == {ada: None, bob: "CFO"}


async def test_an_unsubscribe_sets_email_opt_out_in_salesforce(fakes: Fakes) -> None:
    async with httpx.AsyncClient(base_url=fakes.salesforce_url) as http:
        seeded = await http.post(
            "/_fake/records/Lead", json={"LastName": "Lovelace", "Company": "Acme"}
        )
        lead_id = seeded.json()["Id"]
        person = add_person(email="ada@example.com", sfdc_lead_id=lead_id)
        with Session(get_engine()) as session:
            record_activity(session, key=f"{person}/unsubscribe", kind=ActivityKind.unsubscribe,
                            person_id=person, subject="Unsubscribed from sales email")  # fmt: skip
            session.commit()
        result = await ActivityEnvironment().run(
            ship_to_salesforce, ShipBatchInput(destination="salesforce", limit=200)
        )
        leads = (await http.get("/_fake/records/Lead")).json()
        tasks = (await http.get("/_fake/records/Task")).json()
    assert result.shipped == 1
    assert leads[0]["HasOptedOutOfEmail"] is True
    assert tasks == []  # an unsubscribe is an opt-out on the person, not a Task


@pytest.mark.parametrize(
    ("code", "wait_at_least", "wait_at_most"),
    [("606", 20, 20), ("615", 5, 5), ("607", 1, 25 * 3600)],  # 607: until midnight in Chicago
)
async def test_marketo_limits_are_waited_out_not_given_up_on(
    fakes: Fakes, code: str, wait_at_least: float, wait_at_most: float
) -> None:
    lead_id = await marketo_lead(fakes, email="ada@example.com", firstName="Ada")
    log_email(add_person(email="ada@example.com", marketo_id=lead_id), "wf-1/intro", "Hello")
    async with httpx.AsyncClient(base_url=fakes.marketo_url) as http:
        await http.post("/_fake/faults", json={"code": code, "path_contains": "external.json"})
    with pytest.raises(ApplicationError) as limited:
        await ActivityEnvironment().run(
            ship_to_marketo, ShipBatchInput(destination="marketo", limit=300)
        )
    assert not limited.value.non_retryable and limited.value.type == f"Marketo{code}"
    delay = limited.value.next_retry_delay
    assert delay is not None and wait_at_least <= delay.total_seconds() <= wait_at_most
    # and nothing is in doubt: a refused call added nothing
    again = await ActivityEnvironment().run(
        ship_to_marketo, ShipBatchInput(destination="marketo", limit=300)
    )
    assert (again.shipped, again.possible_duplicates) == (1, 0)


async def test_a_salesforce_request_limit_is_waited_out(fakes: Fakes) -> None:
    log_email(add_person(email="ada@example.com", sfdc_lead_id="00Q000000000042AAA"),
              "wf-1/intro", "Hello")  # fmt: skip
    async with httpx.AsyncClient(base_url=fakes.salesforce_url) as http:
        await http.post("/_fake/faults", json={"code": "REQUEST_LIMIT_EXCEEDED"})
    with pytest.raises(ApplicationError) as limited:
        await ActivityEnvironment().run(
            ship_to_salesforce, ShipBatchInput(destination="salesforce", limit=200)
        )
    assert not limited.value.non_retryable
    assert limited.value.next_retry_delay == timedelta(hours=1)  # the rolling daily limit


async def test_salesforce_opt_outs_come_back_and_end_the_enrollments(fakes: Fakes) -> None:
    from activities.optout import OptOutActivities
    from cadence.core.auth import create_user
    from cadence.core.models import ActivityLog, Campaign, Enrollment, Role
    from cadence.domain.contracts import OptOutSyncInput
    from cadence.services.optout import OptOutSync

    sync_opt_outs = OptOutActivities(OptOutSync()).sync_opt_outs_from_salesforce

    async with httpx.AsyncClient(base_url=fakes.salesforce_url) as http:

        async def seed(sobject: str, opted_out: bool) -> str:
            fields = {"LastName": "X", "HasOptedOutOfEmail": opted_out}
            if sobject == "Lead":
                fields["Company"] = "Acme"
            made = await http.post(f"/_fake/records/{sobject}", json=fields)
            return str(made.json()["Id"])

        lead_out, lead_in = await seed("Lead", True), await seed("Lead", False)
        contact_out = await seed("Contact", True)
    ada = add_person(email="ada@example.com", sfdc_lead_id=lead_out)
    bob = add_person(email="bob@example.com", sfdc_lead_id=lead_in)
    cy = add_person(email="cy@example.com", sfdc_lead_id="00Q000000000777AAA",
                    sfdc_contact_id=contact_out)  # fmt: skip
    done = add_person(email="done@example.com", sfdc_lead_id=lead_out.replace("AAA", "AAB"),
                      unsubscribed=True)  # fmt: skip
    with Session(get_engine()) as session:
        owner, _ = create_user(session, name="Rita", email="rita@seller.test", role=Role.rep)
        campaign = Campaign(name="Q4")
        session.add(campaign)
        session.flush()
        assert campaign.id is not None and owner.id is not None
        session.add(Enrollment(campaign_id=campaign.id, campaign_version=1, person_id=ada,
                               owner_id=owner.id, workflow_id="enrollment/1/ada"))  # fmt: skip
        session.commit()
    result = await ActivityEnvironment().run(sync_opt_outs, OptOutSyncInput())
    assert result.unsubscribed == 2
    assert [(s.workflow_id, s.event.kind) for s in result.signals] == [
        ("enrollment/1/ada", "unsubscribe")
    ]
    with Session(get_engine()) as session:
        flags = {p.id: p.unsubscribed for p in session.exec(select(Person)).all()}
        vias = [a.details["via"] for a in session.exec(select(ActivityLog)).all()
                if a.kind == ActivityKind.unsubscribe]  # fmt: skip
    assert flags == {ada: True, bob: False, cy: True, done: True}
    assert vias == ["salesforce", "salesforce"]
    again = await ActivityEnvironment().run(sync_opt_outs, OptOutSyncInput())
    assert (again.unsubscribed, again.signals) == (0, [])  # nothing twice


async def test_duplicate_leads_in_marketo_stay_two_people(fakes: Fakes) -> None:
    async with MarketoClient(fakes.marketo_url, "mk-id", "mk-secret") as client:
        made = await client.sync_leads(
            [{"email": "twin@example.com", "firstName": "Tom", "sfdcLeadOwnerId": OWNER},
             {"email": "twin@example.com", "firstName": "Tim", "sfdcLeadOwnerId": OWNER}],
            action="createOnly", lookup_field="id",
        )  # fmt: skip
    assert [m["status"] for m in made] == ["created", "created"]
    result = await ActivityEnvironment().run(sync_people_from_marketo, PeopleSyncInput())
    assert result.created == 2
    with Session(get_engine()) as session:
        names = sorted(p.first_name or "" for p in session.exec(select(Person)).all())
    assert names == ["Tim", "Tom"]


async def test_reminder_tasks_sync_both_ways(fakes: Fakes) -> None:
    from activities.task_sync import TaskSyncActivities
    from cadence.core.auth import create_user
    from cadence.core.models import Campaign, Enrollment, Role, Task
    from cadence.domain.contracts import TaskDone, TaskSyncInput
    from cadence.services.task_sync import TaskSync

    ada = add_person(email="ada@example.com", sfdc_lead_id="00Q000000000042AAA")
    with Session(get_engine()) as session:
        owner, _ = create_user(session, name="Rita", email="rita@seller.test", role=Role.rep)
        campaign = Campaign(name="Q4")
        session.add(campaign)
        session.flush()
        assert campaign.id is not None and owner.id is not None
        enrollment = Enrollment(campaign_id=campaign.id, campaign_version=1, person_id=ada,
                                owner_id=owner.id, workflow_id="enrollment/1/1")  # fmt: skip
        session.add(enrollment)
        session.flush()
        assert enrollment.id is not None
        due = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
        for step, kind in (("call-1", "call"), ("mail-2", "manual_email")):
            session.add(Task(key=f"enrollment/1/1/{step}", enrollment_id=enrollment.id,
                             workflow_id="enrollment/1/1", step_id=step, type=kind,
                             title=f"Call Ada ({step})", notes="Ask about Q1 budget",
                             person_id=ada, owner_id=owner.id, due_at=due))  # fmt: skip
        session.commit()
    told: list[tuple[str, TaskDone]] = []

    async def complete(workflow_id: str, done: TaskDone) -> bool:
        told.append((workflow_id, done))
        return True

    sync = TaskSyncActivities(TaskSync(complete))
    env = ActivityEnvironment()
    first = await env.run(sync.sync_reminder_tasks, TaskSyncInput())
    assert (first.pushed, first.completed, first.updated) == (2, 0, 0)
    records = fakes.salesforce.state.fake.records["Task"]
    call = next(r for r in records.values() if r["Subject"] == "Call Ada (call-1)")
    assert (call["Status"], call["Priority"], call["ActivityDate"]) == (
        "Not Started", "Normal", "2026-12-08")  # fmt: skip
    assert (call["TaskSubtype"], call["WhoId"]) == ("Call", "00Q000000000042AAA")
    assert (await env.run(sync.sync_reminder_tasks, TaskSyncInput())).pushed == 0  # unchanged

    # In Salesforce the rep raises the priority, moves the due date and adds a comment.
    call |= {"Priority": "High", "ActivityDate": "2026-12-10", "Description": "After lunch"}
    changed = await env.run(sync.sync_reminder_tasks, TaskSyncInput())
    assert (changed.updated, changed.pushed) == (1, 0)  # copied here, not pushed back
    with Session(get_engine()) as session:
        task = session.exec(select(Task).where(Task.step_id == "call-1")).one()
        assert (task.priority, task.notes) == ("high", "After lunch")
        assert as_utc_date(task.due_at) == "2026-12-10"

    # ... and completes both; only the call is completed here (an email would be sent unseen).
    for record in records.values():
        record["Status"] = "Completed"
    done = await env.run(sync.sync_reminder_tasks, TaskSyncInput())
    assert done.completed == 1
    assert [(w, d.step_id, d.status, d.outcome) for w, d in told] == [
        ("enrollment/1/1", "call-1", "completed", "completed in Salesforce")]  # fmt: skip

    # A task skipped here is closed there as Deferred.
    with Session(get_engine()) as session:
        mail = session.exec(select(Task).where(Task.step_id == "mail-2")).one()
        mail.status, mail.updated_at = TaskStatus.skipped, datetime.now(UTC)
        session.add(mail)
        session.commit()
    pushed = await env.run(sync.sync_reminder_tasks, TaskSyncInput())
    assert pushed.pushed == 1
    mail_record = next(r for r in records.values() if r["Subject"] == "Call Ada (mail-2)")
    assert mail_record["Status"] == "Deferred"


def as_utc_date(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).date().isoformat()


async def test_every_copy_a_repeated_ambiguous_failure_makes_is_counted(fakes: Fakes) -> None:
    lead_id = await marketo_lead(fakes, email="ada@example.com", firstName="Ada")
    log_email(add_person(email="ada@example.com", marketo_id=lead_id), "wf-1/intro", "Hello")
    env = ActivityEnvironment()
    batch = ShipBatchInput(destination="marketo", limit=300)
    async with httpx.AsyncClient(base_url=fakes.marketo_url) as http:
        lost = {"drop_after_commit": True, "path_contains": "activities/external.json"}
        for _ in range(2):  # stored, then the answer is lost; twice
            await http.post("/_fake/faults", json=lost)
            with pytest.raises(ApplicationError):
                await env.run(ship_to_marketo, batch)
        assert (await env.run(ship_to_marketo, batch)).shipped == 1
        stored = (await http.get("/_fake/activities", params={"leadId": lead_id})).json()
    copies = [a for a in stored if a["apiName"] == "cadenceSendSalesEmail"]
    with Session(get_engine()) as session:
        cursor = session.get(ShipCursor, "marketo")
        assert cursor is not None
    assert len(copies) == 3 and cursor.possible_duplicates == 2  # every extra copy, counted
