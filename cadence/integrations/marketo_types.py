"""The sales activity types the engine writes to Marketo as custom activities.

Marketo's native Sales Insight Actions types can't be written by third parties (Add Custom
Activities only accepts approved *custom* types), so we provision our own, mirroring the SIA
glossary: one type per activity kind, with a primary attribute and up to 20 secondary ones.
`ensure_activity_types` creates, completes and approves whatever is missing, and returns the
activity type id of each kind.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cadence.integrations.marketo import MarketoClient, MarketoError

SOURCE = "Cadence"
ID_PREFIX = "CAD"  # the subject's unique id suffix: "Hello (CAD-00000042)"
STRING_MAX = 255
TEXT_MAX = 2000


@dataclass(frozen=True)
class Attr:
    """One attribute of a custom activity type. ``aliases`` are the keys of an activity's
    ``details`` that feed it (besides the snake_case form of ``api_name``)."""

    api_name: str
    name: str
    data_type: str = "string"
    description: str = ""
    aliases: tuple[str, ...] = ()

    def spec(self) -> dict[str, str]:
        out = {"apiName": self.api_name, "name": self.name, "dataType": self.data_type}
        if self.description:
            out["description"] = self.description
        return out

    def detail_keys(self) -> tuple[str, ...]:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", self.api_name).lower()
        return (*self.aliases, snake, self.api_name)


@dataclass(frozen=True)
class ActivityTypeSpec:
    kind: str
    api_name: str
    name: str
    description: str
    trigger_name: str
    filter_name: str
    primary: Attr
    attributes: tuple[Attr, ...]


# Secondary attributes shared by several types.
SENT_BY = Attr("sentBy", "Sent By", "email", "Sales rep who sent the email", ("sender", "owner"))
SOURCE_ATTR = Attr("source", "Source", description="The system that recorded the activity")
SALES_PERSON = Attr(
    "salesPersonId", "Sales Person ID", "integer", "Cadence user id of the rep", ("user_id",)
)
CAMPAIGN_NAME = Attr("campaignName", "Sales Campaign Name", description="Cadence campaign name")
CAMPAIGN_ID = Attr("campaignId", "Sales Campaign ID", "integer", "Cadence campaign id")
CAMPAIGN_URL = Attr("campaignUrl", "Sales Campaign URL", "link", "Link to the campaign")
CAMPAIGN_VERSION = Attr("campaignVersion", "Sales Campaign Version", "integer")
STEP = Attr("step", "Sales Campaign Step", description="Campaign step id", aliases=("step_id",))
STEP_DAY = Attr("stepDay", "Sales Campaign Day", "integer", "Day of the step in the campaign")
TEMPLATE_ID = Attr("templateId", "Template ID", description="Sales template id")
TEMPLATE_NAME = Attr("templateName", "Sales Template Name", aliases=("template",))
TEMPLATE_URL = Attr("templateUrl", "Sales Template URL", "link")
MESSAGE_ID = Attr("messageId", "Message ID", description="RFC 5322 Message-ID of the email")
RECIPIENT = Attr("recipient", "Recipient", "email", "Address the email was sent to", ("to",))
ACTIVITY_ID = Attr(
    "cadenceActivityId",
    "Cadence Activity ID",
    "integer",
    "Id of the activity in Cadence (detects duplicates after a retried write)",
)
LINK = Attr("link", "Link", "link", "The link clicked", ("url", "href"))
DETAILS = Attr("details", "Details", "text", "Details", ("reason", "bounce_reason", "error"))
EMAIL_ATTR = Attr("email", "Email", "email", "The address that bounced", ("recipient",))
EMAIL_SUBJECT = Attr("emailSubject", "Email Subject", description="Subject of the sales email")

_EMAIL_COMMON = (
    SENT_BY,
    SOURCE_ATTR,
    SALES_PERSON,
    TEMPLATE_ID,
    TEMPLATE_NAME,
    TEMPLATE_URL,
    CAMPAIGN_NAME,
    CAMPAIGN_ID,
    CAMPAIGN_URL,
    STEP,
    STEP_DAY,
    MESSAGE_ID,
    RECIPIENT,
    ACTIVITY_ID,
)
_CAMPAIGN_COMMON = (
    CAMPAIGN_ID,
    CAMPAIGN_URL,
    CAMPAIGN_VERSION,
    SENT_BY,
    SOURCE_ATTR,
    SALES_PERSON,
    ACTIVITY_ID,
)

ACTIVITY_TYPES: tuple[ActivityTypeSpec, ...] = (
    ActivityTypeSpec(
        "send_email",
        "cadenceSendSalesEmail",
        "Send Sales Email",
        "A sales email was sent to the person by a Cadence campaign or a rep",
        "Is Sent Sales Email (Cadence)",
        "Was Sent Sales Email (Cadence)",
        EMAIL_SUBJECT,
        _EMAIL_COMMON,
    ),
    ActivityTypeSpec(
        "open_email",
        "cadenceOpenSalesEmail",
        "Open Sales Email",
        "The person opened a sales email",
        "Opens Sales Email (Cadence)",
        "Opened Sales Email (Cadence)",
        EMAIL_SUBJECT,
        _EMAIL_COMMON,
    ),
    ActivityTypeSpec(
        "click_email",
        "cadenceClickSalesEmail",
        "Click Sales Email",
        "The person clicked a link in a sales email",
        "Clicks Sales Email (Cadence)",
        "Clicked Sales Email (Cadence)",
        EMAIL_SUBJECT,
        (*_EMAIL_COMMON, LINK),
    ),
    ActivityTypeSpec(
        "reply_email",
        "cadenceReplySalesEmail",
        "Reply to Sales Email",
        "The person replied to a sales email",
        "Replies to Sales Email (Cadence)",
        "Replied to Sales Email (Cadence)",
        EMAIL_SUBJECT,
        (
            Attr("receivedBy", "Received By", "email", "Rep who received the reply", ("owner",)),
            SOURCE_ATTR,
            SALES_PERSON,
            CAMPAIGN_NAME,
            CAMPAIGN_ID,
            STEP,
            MESSAGE_ID,
            Attr("inReplyTo", "In Reply To", description="Message-ID the reply answers"),
            Attr("sender", "From", "email", "Address the reply came from", ("from",)),
            ACTIVITY_ID,
        ),
    ),
    ActivityTypeSpec(
        "email_bounced",
        "cadenceSalesEmailBounced",
        "Sales Email Bounced",
        "A sales email to the person bounced",
        "Sales Email Bounces (Cadence)",
        "Sales Email Bounced (Cadence)",
        EMAIL_SUBJECT,
        (
            DETAILS,
            EMAIL_ATTR,
            SENT_BY,
            SOURCE_ATTR,
            SALES_PERSON,
            TEMPLATE_ID,
            CAMPAIGN_NAME,
            CAMPAIGN_ID,
            STEP,
            MESSAGE_ID,
            Attr("bounceCategory", "Bounce Category", aliases=("category", "bounce_type")),
            ACTIVITY_ID,
        ),
    ),
    ActivityTypeSpec(
        "call",
        "cadenceReceivedSalesCall",
        "Received Sales Call",
        "A rep called the person",
        "Receives Sales Call (Cadence)",
        "Received Sales Call (Cadence)",
        Attr("callSubject", "Sales Call Subject", description="Subject or outcome of the call"),
        (
            Attr(
                "callMadeBy", "Sales Call Made By", "email", "Rep who called", ("sender", "owner")
            ),
            Attr(
                "callStatus",
                "Sales Call Status",
                description="completed, no answer, cancelled or failed",
                aliases=("status",),
            ),
            Attr("callOutcome", "Sales Call Outcome", aliases=("outcome", "disposition")),
            Attr("callDuration", "Sales Call Duration", "integer", "Seconds", ("duration_s",)),
            Attr("phoneNumber", "Sales Phone Number Called", "phone", aliases=("phone",)),
            Attr("recordingUrl", "Sales Call Recording URL", "link", aliases=("recording",)),
            Attr("answeredBy", "Sales Call Answered By", aliases=("answered_by",)),
            Attr("callNotes", "Sales Call Notes", "text", aliases=("notes",)),
            CAMPAIGN_NAME,
            CAMPAIGN_ID,
            CAMPAIGN_URL,
            STEP,
            SOURCE_ATTR,
            SALES_PERSON,
            ACTIVITY_ID,
        ),
    ),
    ActivityTypeSpec(
        "add_to_campaign",
        "cadenceAddToSalesCampaign",
        "Add to Sales Campaign",
        "The person was added to a Cadence sales campaign",
        "Added to Sales Campaign (Cadence)",
        "Was Added to Sales Campaign (Cadence)",
        CAMPAIGN_NAME,
        _CAMPAIGN_COMMON,
    ),
    ActivityTypeSpec(
        "remove_from_campaign",
        "cadenceRemoveFromSalesCampaign",
        "Remove from Sales Campaign",
        "The person was removed from a Cadence sales campaign",
        "Removed from Sales Campaign (Cadence)",
        "Was Removed from Sales Campaign (Cadence)",
        CAMPAIGN_NAME,
        (*_CAMPAIGN_COMMON, Attr("reason", "Removal Reason", aliases=("end_reason",))),
    ),
)

TYPES_BY_KIND: dict[str, ActivityTypeSpec] = {t.kind: t for t in ACTIVITY_TYPES}
# Changes whenever a type or attribute changes: what was provisioned is then provisioned again.
TYPES_VERSION = hashlib.sha256(repr(ACTIVITY_TYPES).encode()).hexdigest()[:16]
TYPES_BY_API_NAME: dict[str, ActivityTypeSpec] = {t.api_name: t for t in ACTIVITY_TYPES}


def _coerce(attr: Attr, value: Any) -> Any:
    """A value Marketo accepts for the attribute's data type, or None to leave it out."""
    if value is None or value == "":
        return None
    if attr.data_type == "integer":
        if isinstance(value, bool):
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    limit = TEXT_MAX if attr.data_type == "text" else STRING_MAX
    return str(value)[:limit]


def marketo_attributes(
    kind: str,
    activity_id: int,
    subject: str | None,
    details: Mapping[str, Any] | None,
) -> tuple[str, dict[str, Any]]:
    """The primary attribute value and ``{apiName: value}`` secondary attributes for one activity
    of ``kind``, drawn from its subject and details (``None`` values are left for the caller to
    drop)."""
    spec = TYPES_BY_KIND[kind]
    details = dict(details or {})
    details.setdefault("source", SOURCE)
    details.setdefault("cadence_activity_id", activity_id or None)
    primary_keys = ("subject", *spec.primary.detail_keys())
    primary = str(subject or next((details[k] for k in primary_keys if details.get(k)), None)
                  or spec.name)  # fmt: skip
    # Like Sales Insight Actions ("My Subject Line (SIA-12345678)"): the same subject sent
    # to many people stays one activity each in Marketo's reports.
    suffix = f" ({ID_PREFIX}-{activity_id:08d})" if activity_id else ""
    primary_value = primary[: STRING_MAX - len(suffix)] + suffix
    values: dict[str, Any] = {}
    for attr in spec.attributes:
        present = (details[k] for k in attr.detail_keys() if details.get(k) not in (None, ""))
        raw = next(present, None)
        values[attr.api_name] = _coerce(attr, raw)
    return primary_value, values


async def _provision(client: MarketoClient, spec: ActivityTypeSpec, status: str | None) -> int:
    """Bring one type to "approved" with all our attributes; returns its id."""
    if status is None:
        try:
            created = await client.create_custom_activity_type(
                spec.api_name,
                spec.name,
                spec.trigger_name,
                spec.filter_name,
                spec.primary.spec(),
                description=spec.description,
            )
            status = str(created.get("status") or "draft")
        except MarketoError:
            # Another worker may have created it meanwhile; look again before giving up.
            again = {t.get("apiName"): t for t in await client.list_custom_activity_types()}
            if spec.api_name not in again:
                raise
            status = str(again[spec.api_name].get("status"))
    has_draft = status in ("draft", "approved with draft")
    current = await client.describe_custom_activity_type(spec.api_name, draft=has_draft)
    present = {a.get("apiName") for a in current.get("attributes") or []}
    missing = [a.spec() for a in spec.attributes if a.api_name not in present]
    if missing:
        await client.create_custom_activity_attributes(spec.api_name, missing)
        has_draft = True
    if has_draft:
        current = await client.approve_custom_activity_type(spec.api_name)
    return int(current["id"])


async def ensure_activity_types(client: MarketoClient) -> dict[str, int]:
    """Make sure every sales activity type exists, has its attributes and is approved.

    Idempotent: when everything is in place it only reads (one list call plus one describe per
    type) and writes nothing. Returns ``{kind: activityTypeId}``.
    """
    existing = {t.get("apiName"): t for t in await client.list_custom_activity_types()}
    ids: dict[str, int] = {}
    for spec in ACTIVITY_TYPES:
        found = existing.get(spec.api_name)
        status = None if found is None else str(found.get("status"))
        if status == "deleted":
            raise MarketoError(
                "709",
                f"custom activity type {spec.api_name} is deleted; restore or rename it",
                retryable=False,
            )
        ids[spec.kind] = await _provision(client, spec, status)
    return ids
