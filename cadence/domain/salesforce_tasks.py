"""What the engine logs to Salesforce, and how a Task's subject is written (pure rules; the
mapping onto Salesforce records is cadence.integrations.salesforce_tasks)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from cadence.domain.activity_log import ActivityKind

SUBJECT_MAX = 255
DEFAULT_SUBJECT_TEMPLATE = "[Cadence] - {{activity_type}}: {{activity_subject}}"
FAMILIES: dict[str, frozenset[ActivityKind]] = {
    "emails": frozenset({ActivityKind.send_email, ActivityKind.reply_email}),
    "calls": frozenset({ActivityKind.call}),
    "tasks": frozenset(),  # the reps' reminder tasks, synced both ways (not the activity log)
}
# Reminder tasks, as Sales Insight Actions maps them: Open <-> Not Started, Complete <->
# Completed (a skipped or cancelled one is closed as Deferred); Priority Normal/High.
REMINDER_STATUS = {"open": "Not Started", "completed": "Completed", "skipped": "Deferred",
                   "cancelled": "Deferred"}  # fmt: skip
REMINDER_PRIORITY = {"high": "High", "normal": "Normal"}
SUBJECT_TOKENS = (
    "activity_type",
    "activity_subject",
    "sales_campaign_name",
    "sales_campaign_day",
    "sales_campaign_step",
    "call_outcome",
    "call_reason",
)
_TOKEN = re.compile(r"\{\{\s*([A-Za-z_]+)\s*\}\}")
_ACTIVITY_TYPE = {ActivityKind.send_email: "Email", ActivityKind.reply_email: "Email",
                  ActivityKind.call: "Call"}  # fmt: skip


def unknown_tokens(template: str) -> list[str]:
    """The ``{{tokens}}`` of a subject template that are not ours."""
    return [t for t in _TOKEN.findall(template) if t not in SUBJECT_TOKENS]


def logged_kinds(families: Iterable[str]) -> frozenset[ActivityKind]:
    kinds: set[ActivityKind] = set()
    for family in families:
        kinds |= FAMILIES[family]
    return frozenset(kinds)
