"""Activity names are part of a running workflow's history: the thin activity classes must
keep answering to the names the recorded histories (and every workflow in flight) call."""

from __future__ import annotations

import base64
import inspect
import json
from pathlib import Path

from temporalio import activity

import activities.email
import activities.enrollment_sweep
import activities.enrollments
import activities.inbound
import activities.optout
import activities.people
import activities.shipping
import activities.task_sync
import activities.tasks

HISTORIES = Path(__file__).parent / "histories"
MODULES = [
    activities.email, activities.enrollment_sweep, activities.enrollments, activities.inbound,
    activities.optout, activities.people, activities.shipping, activities.task_sync,
    activities.tasks,
]  # fmt: skip
# Every name a workflow has ever scheduled: running workflows call these.
NAMES = {
    "send_email", "finish_enrollment", "record_enrollment_status", "create_task", "close_task",
    "process_inbound", "poll_mailbox", "sync_opt_outs_from_salesforce",
    "sync_people_from_marketo", "location_notices", "mark_location_notified", "ship_to_marketo",
    "ship_to_salesforce", "sync_reminder_tasks", "sweep_enrollments",
}  # fmt: skip


def defined_names() -> dict[str, str]:
    """Activity name -> where it is defined, over every activity class."""
    names: dict[str, str] = {}
    for module in MODULES:
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for attr, fn in vars(cls).items():
                defn = activity._Definition.from_callable(fn) if callable(fn) else None
                if defn is not None and defn.name is not None:
                    assert defn.name not in names, f"{defn.name} defined twice"
                    names[defn.name] = f"{cls_name}.{attr}"
    return names


def recorded_names() -> set[str]:
    """The activities the recorded histories scheduled, local ones (markers) included."""
    names: set[str] = set()
    for path in HISTORIES.glob("*.json"):
        for event in json.loads(path.read_text())["events"]:
            scheduled = event.get("activityTaskScheduledEventAttributes")
            if scheduled:
                names.add(scheduled["activityType"]["name"])
            marker = event.get("markerRecordedEventAttributes")
            payloads = (marker or {}).get("details", {}).get("data", {}).get("payloads", [])
            for payload in payloads:
                names.add(json.loads(base64.b64decode(payload["data"]))["activity_type"])
    return names


def test_every_activity_keeps_its_name() -> None:
    assert set(defined_names()) == NAMES


def test_every_activity_a_recorded_history_calls_is_still_defined() -> None:
    recorded = recorded_names()
    assert len(recorded) >= 8  # the histories were read
    assert recorded <= set(defined_names())
