"""How a sales activity becomes a Salesforce Task, as Marketo Sales Insight Actions logs it.

* What is logged is chosen by family (``CADENCE_SALESFORCE_LOG``): ``emails`` (sent emails and
  replies), ``calls`` (completed call tasks) and ``tasks`` (the reps' reminder tasks, synced
  both ways by cadence/services/task_sync.py). Opens, clicks, bounces and campaign changes
  stay in Marketo; an unsubscribe sets Email Opt Out on the person instead of making a Task.
* The subject follows a template (``CADENCE_SALESFORCE_SUBJECT_TEMPLATE``) with the tokens
  below; empty tokens render empty, line breaks go, and the result is cut at 255 characters.
  A reply is always ``Reply: <subject>``.
* ``TaskSubtype`` is Email or Call (it can only be set when the Task is created), ``Type`` is
  Email, Reply or Call, and a call carries its outcome (``CallDisposition``) and notes.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cadence.core.models import ActivityKind, ActivityLog, Person, Task, as_utc
from cadence.domain.salesforce_tasks import (
    _ACTIVITY_TYPE,
    _TOKEN,
    REMINDER_PRIORITY,
    REMINDER_STATUS,
    SUBJECT_MAX,
)

TASK_KEY_FIELD = "Cadence_Activity_Key__c"


def task_key(activity_key: str) -> str:
    """The Task's external id: the same activity always upserts the same Task."""
    return hashlib.sha256(activity_key.encode()).hexdigest()[:40]


def task_subject(kind: ActivityKind, subject: str | None, details: dict[str, Any],
                 template: str) -> str:  # fmt: skip
    if kind == ActivityKind.reply_email:
        text = f"Reply: {subject or ''}"
    else:
        tokens = {
            "activity_type": _ACTIVITY_TYPE.get(kind, "Custom"),
            "activity_subject": subject or "",
            "sales_campaign_name": details.get("campaign_name"),
            "sales_campaign_day": details.get("step_day"),
            "sales_campaign_step": details.get("step_id"),
            "call_outcome": details.get("outcome"),
            "call_reason": details.get("reason"),
        }
        text = _TOKEN.sub(lambda m: str(tokens.get(m[1]) or ""), template)
    return " ".join(text.split())[:SUBJECT_MAX]


def task_fields(activity: ActivityLog, person: Person, template: str) -> dict[str, Any]:
    """The Task for one logged activity (created, or updated in place when sent again)."""
    kind = ActivityKind(activity.kind)
    details = activity.details or {}
    fields: dict[str, Any] = {
        "attributes": {"type": "Task"},
        TASK_KEY_FIELD: task_key(activity.key),
        "Subject": task_subject(kind, activity.subject, details, template),
        "Status": "Completed",
        "Priority": "Normal",
        "ActivityDate": as_utc(activity.occurred_at).date().isoformat(),
        "WhoId": person.sfdc_contact_id or person.sfdc_lead_id,
        "TaskSubtype": "Call" if kind == ActivityKind.call else "Email",
        "Type": {ActivityKind.reply_email: "Reply", ActivityKind.call: "Call"}.get(kind, "Email"),
        "Cadence_Campaign__c": details.get("campaign_name"),
        "Cadence_Step__c": details.get("step_id"),
    }
    if kind == ActivityKind.call:
        fields |= {"CallType": "Outbound", "CallDisposition": details.get("outcome"),
                   "Description": details.get("notes") or ""}  # fmt: skip
    else:
        lines = (f"{k}: {v}" for k, v in details.items() if v is not None)
        fields["Description"] = "\n".join(lines)
    return fields


def reminder_fields(task: Task, person: Person) -> dict[str, Any]:
    """The Salesforce Task mirroring one of our reminder tasks."""
    notes = "\n\n".join(x for x in (task.notes, task.outcome_notes) if x)
    return {
        "attributes": {"type": "Task"},
        TASK_KEY_FIELD: task_key(f"task/{task.key}"),
        "Subject": " ".join(task.title.split())[:SUBJECT_MAX],
        "Status": REMINDER_STATUS[str(task.status)],
        "Priority": REMINDER_PRIORITY.get(task.priority, "Normal"),
        "ActivityDate": as_utc(task.due_at).date().isoformat(),
        "WhoId": person.sfdc_contact_id or person.sfdc_lead_id,
        "TaskSubtype": "Call" if task.type == "call" else "Task",
        "Description": notes,
        "Cadence_Step__c": task.step_id,
    }
