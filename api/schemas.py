"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    model_validator,
)

from cadence.core.models import ActivityKind, EnrollmentStatus, Role, TaskStatus, as_utc
from cadence.domain.contracts import EndReason, EnrollmentState, LocationInUse, PersonName
from cadence.domain.location import COUNTRY_NAMES, zone_name, zone_problem

# Every time the API answers with from the database: an instant, given in UTC ("...Z").
# The workflow's own models (EnrollmentState, TimelineEntry) carry instants with an offset too.
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]

MAX_ID = 2**63 - 1  # ids are signed 64-bit integers in the database
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
"""An id in a JSON body: an integer from 1 to 2^63-1. true/false, 1.0, "1" and larger numbers
are refused with a 422 naming the place, never taken for another id."""


def _decimal(value: object) -> object:
    """Path and query parameters arrive as text: plain decimal digits become the number; any
    other text ("1.0", "+1", " 1", "true") stays text, which the strict integer refuses."""
    if isinstance(value, str) and 0 < len(value) <= 40 and value.isascii() and value.isdigit():
        return int(value)
    return value


IdParam = Annotated[Id, BeforeValidator(_decimal)]
"""The same id in a path or query parameter."""
CursorParam = Annotated[int, BeforeValidator(_decimal), Field(strict=True, ge=0, le=MAX_ID)]
"""A paging cursor (``after_id``, ``offset``): 0 or an id."""

MAX_PEOPLE = 200  # people per enrollment or email request, as Sales Insight Actions allows
MAX_COPIES = 50  # Cc or Bcc addresses per email
MAX_ATTACHMENTS = 20  # attachments per email


class PeopleRequest(BaseModel):
    """Who a request is for: people by id and/or by address, 200 at most together."""

    person_ids: list[Id] = Field(default_factory=list, max_length=MAX_PEOPLE)
    emails: list[EmailStr] = Field(default_factory=list, max_length=MAX_PEOPLE)

    @model_validator(mode="after")
    def _at_most_200_people(self) -> PeopleRequest:
        if len(self.person_ids) + len(self.emails) > MAX_PEOPLE:
            raise ValueError(
                f"at most {MAX_PEOPLE} people per request; person_ids and emails together "
                f"name {len(self.person_ids) + len(self.emails)}"
            )
        return self


class UserCreate(BaseModel):
    name: str = Field(min_length=1)
    email: EmailStr
    role: Role
    title: str | None = None


class UserPublic(BaseModel):
    id: int
    name: str
    email: str
    role: Role
    title: str | None = None
    signature: str | None = None
    timezone: str | None = None


def _zone(value: str | None) -> str | None:
    """A real IANA zone, in its own spelling; None stays None."""
    if value is None:
        return None
    name = zone_name(value)
    if name is None:
        raise ValueError(zone_problem(value))
    return name


def _country(value: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 country code, in upper case; None stays None."""
    if value is None:
        return None
    code = value.strip().upper()
    if code not in COUNTRY_NAMES:
        raise ValueError(
            f"{value[:100]!r} is not an ISO 3166-1 alpha-2 country code (two letters, e.g. DE)"
        )
    return code


class UserUpdate(BaseModel):
    title: str | None = Field(default=None, max_length=200)
    signature: str | None = Field(default=None, max_length=5000)
    timezone: Annotated[str | None, AfterValidator(_zone)] = Field(
        default=None,
        max_length=64,
        description="Your IANA time zone: your enrollments' when the lead's is not known",
    )


class LocationOverride(BaseModel):
    """A person's zone and country, set by hand (people are otherwise read-only: Marketo is
    their source). null clears an override, and the value derived from Marketo is back."""

    model_config = ConfigDict(extra="forbid")
    timezone: Annotated[str | None, AfterValidator(_zone)] = Field(
        default=None, max_length=64, description="IANA time zone, e.g. America/Chicago"
    )
    country: Annotated[str | None, AfterValidator(_country)] = Field(
        default=None, description="ISO 3166-1 alpha-2 code, e.g. DE"
    )

    @model_validator(mode="after")
    def _something(self) -> LocationOverride:
        if not self.model_fields_set:
            raise ValueError("send timezone and/or country (null clears an override)")
        return self


class UserCreated(BaseModel):
    user: UserPublic
    token: str = Field(description="Shown once; store it safely")


class PersonLocation(BaseModel):
    """Where Marketo says the person is, as it keeps it (free text), and what it inferred
    from the person's first web visit."""

    country: str | None = None
    state: str | None = None
    city: str | None = None
    postal_code: str | None = None
    inferred_country: str | None = None
    inferred_state: str | None = None
    inferred_city: str | None = None


class OverridePublic(BaseModel):
    value: str
    set_by: int | None = Field(description="The user who set it")
    set_at: UtcDatetime | None


class PersonPublic(LocationInUse, PersonName):
    id: int
    email: str
    phone: str | None = None
    mobile_phone: str | None = None
    linkedin_url: str | None = None
    location: PersonLocation = Field(default_factory=PersonLocation)
    timezone_override: OverridePublic | None = None
    country_override: OverridePublic | None = None
    marketo_id: int | None = None
    sfdc_lead_id: str | None = None
    sfdc_contact_id: str | None = None
    sales_owner: str | None = None
    unsubscribed: bool
    updated_at: UtcDatetime


class PersonLocationChanged(PersonPublic):
    """The person after an override, and how their running enrollments were told."""

    enrollments_told: int = Field(
        description="Running enrollments told: each takes the change at its next step"
    )
    enrollments_pending: int = Field(
        description="Running enrollments Temporal could not be asked to tell now: the next "
        "people sync tells them"
    )


class CampaignPublic(BaseModel):
    id: int
    name: str
    description: str | None
    current_version: int
    steps: list[dict[str, Any]]
    created_at: UtcDatetime


class StepOutline(BaseModel):
    id: str
    day: int
    type: str


class CampaignSummary(BaseModel):
    """A campaign in the list: its steps in outline (``GET /campaigns/{id}`` has them whole)."""

    id: int
    name: str
    description: str | None
    current_version: int
    steps: list[StepOutline]
    created_at: UtcDatetime


class EnrollRequest(PeopleRequest):
    pass


class EnrollResult(BaseModel):
    person_id: int | None
    email: str | None = None
    result: str  # enrolled, already_enrolled, person_not_found, several_people, ...
    enrollment_id: int | None = None
    workflow_id: str | None = None
    detail: str | None = None


class EnrollResponse(BaseModel):
    campaign_id: int
    results: list[EnrollResult]


class EnrollmentPublic(BaseModel):
    id: int
    campaign_id: int
    campaign_version: int
    person_id: int
    owner_id: int
    workflow_id: str
    status: EnrollmentStatus
    end_reason: EndReason | None
    end_note: str | None = None
    created_at: UtcDatetime
    ended_at: UtcDatetime | None
    live: EnrollmentState | None = Field(
        description="The workflow's own view (a query); null once Temporal has forgotten the "
        "run, for a run that stopped without finishing, and in lists"
    )
    live_error: str | None = Field(
        default=None, description="Why `live` is null when the workflow could not be asked"
    )


class TaskPublic(BaseModel):
    id: int
    enrollment_id: int
    step_id: str
    type: str
    title: str
    notes: str | None
    priority: str
    person_id: int
    owner_id: int
    due_at: UtcDatetime
    status: TaskStatus
    outcome: str | None
    outcome_notes: str | None
    closed_at: UtcDatetime | None


class TaskDoneBody(BaseModel):
    outcome: str | None = Field(
        default=None, max_length=100, description='e.g. a call\'s result: "connected"'
    )
    notes: str | None = Field(default=None, max_length=5000)


class EmailPublic(BaseModel):
    message_id: str
    subject: str
    sender: str
    recipient: str
    person_id: int
    enrollment_id: int | None
    step_id: str | None
    campaign: str | None
    template: str | None
    status: str
    sent_at: UtcDatetime | None
    opened: bool
    clicked: bool
    replied: bool


class EmailDetail(EmailPublic):
    body_text: str
    cc: list[str]
    bcc: list[str]
    attachment_ids: list[int]


class BlockedDomainIn(BaseModel):
    domain: str = Field(max_length=253, pattern=r"^([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$")
    note: str | None = Field(default=None, max_length=500)


class BlockedDomainPublic(BaseModel):
    domain: str
    note: str | None
    created_at: UtcDatetime


class PreviewRequest(BaseModel):
    step_id: str = Field(max_length=100)
    person_id: Id


class PreviewResponse(BaseModel):
    step_id: str
    type: str
    subject: str
    body: str
    problems: list[str]


class MigrationResult(BaseModel):
    enrollment_id: int
    result: str  # migrated | refused | failed
    reason: str | None = None


class StepBody(BaseModel):
    step_id: str = Field(max_length=100, description="The step the enrollment waits for")


class RescheduleBody(StepBody):
    at: AwareDatetime = Field(description="The new time, ISO 8601 with an offset")


class ManualEmailBody(BaseModel):
    subject: str | None = Field(default=None, max_length=255)
    body: str | None = Field(default=None, max_length=100_000)
    cc: list[EmailStr] = Field(default_factory=list, max_length=MAX_COPIES)
    bcc: list[EmailStr] = Field(default_factory=list, max_length=MAX_COPIES)
    attachment_ids: list[Id] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class AttachmentPublic(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: UtcDatetime


class SalesEmailRequest(PeopleRequest):
    """A one-off or group sales email: one personalised message per recipient."""

    subject: str = Field(min_length=1, max_length=255)
    body: str = Field(min_length=1, max_length=100_000)
    cc: list[EmailStr] = Field(default_factory=list, max_length=MAX_COPIES)
    bcc: list[EmailStr] = Field(default_factory=list, max_length=MAX_COPIES)
    attachment_ids: list[Id] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    non_commercial: bool = Field(
        default=False, description="transactional: no unsubscribe footer, headers or check"
    )
    template: str | None = Field(default=None, max_length=200, description="shown in the Email tab")


class SalesEmailMessage(BaseModel):
    person_id: int
    email: str
    message_id: str
    status: str = "pending"
    reason: str | None = None
    guard: str | None = None


class SalesEmailAccepted(BaseModel):
    request_id: str
    workflow_id: str
    status: str  # running or completed
    messages: list[SalesEmailMessage]


class PauseBody(BaseModel):
    note: str | None = Field(default=None, max_length=500, description="Why, in the rep's words")


class RemoveBody(BaseModel):
    reason: str | None = Field(default=None, max_length=500, description="Why, in the rep's words")


class ActivityPublic(BaseModel):
    id: int
    kind: ActivityKind
    title: str
    occurred_at: UtcDatetime
    person_id: int
    campaign_id: int | None
    enrollment_id: int | None
    user_id: int | None
    subject: str | None
    details: dict[str, Any]


class InboundAccepted(BaseModel):
    id: int
    duplicate: bool  # the same message was received before; nothing new happens
    workflow_id: str


class InboundPublic(BaseModel):
    """A received message and what was made of it (``label`` is None until processed)."""

    id: int
    source: str
    mailbox: str | None
    message_id: str | None
    sender: str
    subject: str
    received_at: UtcDatetime
    label: str | None
    reason: str | None
    status_code: str | None
    return_date: date | None
    failed_recipient: str | None
    matched_by: str | None
    in_reply_to: str | None
    person_id: int | None
    enrollment_ids: list[int]
    processed_at: UtcDatetime | None


class InboundPage(BaseModel):
    total: int
    items: list[InboundPublic]


class ShippingStatus(BaseModel):
    """How far the activity log has reached one destination."""

    destination: str
    configured: bool
    shipped: int
    skipped: int  # for good, with the reason on each row
    deferred: int  # the person has no id there yet; shipped once a sync links them
    in_doubt: int  # carried by a call that failed ambiguously; sent again
    waiting: int  # no outcome yet
    possible_duplicates: int  # Marketo rows sent again after an ambiguous failure
    ambiguous_failures: int  # calls that failed in a way that may have gone through
    cursor: int
    last_error: str | None
