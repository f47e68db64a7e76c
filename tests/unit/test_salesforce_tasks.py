"""Sales activities as Salesforce Tasks: the subject template, the fields a Task gets per kind,
and the settings that choose what is logged (a bad one is refused with the reason)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from cadence.core.config import Settings
from cadence.core.models import ActivityKind, ActivityLog, Person
from cadence.domain.salesforce_tasks import DEFAULT_SUBJECT_TEMPLATE, logged_kinds
from cadence.integrations.salesforce_tasks import task_fields, task_key, task_subject

EMAIL_DETAILS = {"campaign_name": "Q4 Outbound", "step_id": "bump", "step_day": 3}


def activity(kind: ActivityKind, subject: str, **details: object) -> ActivityLog:
    return ActivityLog(id=7, key=f"enrollment/1/2/{kind}", kind=kind, person_id=2,
                       subject=subject, details=details,
                       occurred_at=datetime(2026, 12, 1, 15, 30, tzinfo=UTC))  # fmt: skip


def test_the_default_subject_names_the_type_and_the_subject() -> None:
    subject = task_subject(ActivityKind.send_email, "Quick question", EMAIL_DETAILS,
                           DEFAULT_SUBJECT_TEMPLATE)  # fmt: skip
    assert subject == "[Cadence] - Email: Quick question"


def test_every_token_and_empty_ones() -> None:
    template = ("{{activity_type}} | {{activity_subject}} | {{sales_campaign_name}} | "
                "day {{sales_campaign_day}} | {{ sales_campaign_step }} | {{call_outcome}} | "
                "{{call_reason}}")  # fmt: skip
    assert task_subject(ActivityKind.send_email, "Hi", EMAIL_DETAILS, template) == (
        "Email | Hi | Q4 Outbound | day 3 | bump | |"
    )
    call = task_subject(ActivityKind.call, "Intro call", {"outcome": "connected"}, template)
    assert call == "Call | Intro call | | day | | connected |"


def test_line_breaks_go_and_the_subject_is_cut_at_255() -> None:
    long = task_subject(ActivityKind.send_email, "x" * 300, {}, "{{activity_subject}}")
    assert len(long) == 255
    assert task_subject(ActivityKind.send_email, "a\nb", {}, "Sent:\n{{activity_subject}}") == (
        "Sent: a b"
    )


def test_a_reply_is_always_reply_and_its_subject() -> None:
    template = "{{sales_campaign_name}} {{activity_type}}"
    subject = task_subject(ActivityKind.reply_email, "Re: Quick question", EMAIL_DETAILS, template)
    assert subject == "Reply: Re: Quick question"


def test_task_fields_per_kind() -> None:
    lead = Person(id=2, email="ada@example.com", sfdc_lead_id="00Q000000000042AAA")
    contact = Person(id=3, email="bo@example.com", sfdc_lead_id="00Q000000000043AAA",
                     sfdc_contact_id="003000000000043AAA")  # fmt: skip
    sent = task_fields(activity(ActivityKind.send_email, "Hi", **EMAIL_DETAILS), lead,
                       DEFAULT_SUBJECT_TEMPLATE)  # fmt: skip
    assert (sent["TaskSubtype"], sent["Type"], sent["Status"]) == ("Email", "Email", "Completed")
    assert sent["WhoId"] == "00Q000000000042AAA" and sent["ActivityDate"] == "2026-12-01"
    assert sent["Cadence_Activity_Key__c"] == task_key("enrollment/1/2/send_email")
    assert (sent["Cadence_Campaign__c"], sent["Cadence_Step__c"]) == ("Q4 Outbound", "bump")
    reply = task_fields(activity(ActivityKind.reply_email, "Re: Hi"), contact, "x")
    assert (reply["Type"], reply["WhoId"]) == ("Reply", "003000000000043AAA")  # contact first
    called = activity(ActivityKind.call, "Intro call", outcome="left voicemail",
                      notes="call back Tuesday")  # fmt: skip
    call = task_fields(called, lead, DEFAULT_SUBJECT_TEMPLATE)
    assert (call["TaskSubtype"], call["Type"], call["CallType"]) == ("Call", "Call", "Outbound")
    assert call["CallDisposition"] == "left voicemail"
    assert call["Description"] == "call back Tuesday"
    assert call["Subject"] == "[Cadence] - Call: Intro call"


def test_what_is_logged_is_chosen_by_family() -> None:
    assert logged_kinds(["emails"]) == {ActivityKind.send_email, ActivityKind.reply_email}
    assert logged_kinds(["calls"]) == {ActivityKind.call}
    assert ActivityKind.open_email not in logged_kinds(["emails", "calls"])
    assert Settings(salesforce_log=["calls"]).salesforce_log == ["calls"]


def test_bad_settings_say_what_is_wrong() -> None:
    with pytest.raises(ValidationError, match=r"unknown activity families \['opens'\]"):
        Settings(salesforce_log=["emails", "opens"])
    with pytest.raises(ValidationError, match=r"unknown tokens \['campaign'\]"):
        Settings(salesforce_subject_template="{{activity_type}}: {{campaign}}")
