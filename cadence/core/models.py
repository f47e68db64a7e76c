"""App database tables: the system of record for users, people, campaigns, enrollments and
the activity log (the outbox that shippers drain to Marketo and Salesforce).

Never pass these objects to workflows; workflows get plain pydantic models.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

# Defined with the workflow contracts (one vocabulary), stored here.
from cadence.domain.activity_log import ACTIVITY_TITLES as ACTIVITY_TITLES
from cadence.domain.activity_log import ActivityKind as ActivityKind
from cadence.domain.contracts import EnrollmentStatus as EnrollmentStatus
from cadence.domain.contracts import TaskStatus as TaskStatus
from cadence.domain.instants import as_utc as as_utc


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """An instant: written in UTC, read back aware in UTC. SQLite keeps a datetime as text
    without its offset, so a value in another zone (a task due at 09:00 in New York) must be
    converted first, or its local clock would later be read as UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UtcDateTime(), **kw)


class EnumText(sa.TypeDecorator[StrEnum]):
    """A StrEnum stored as its plain string value and read back as the enum."""

    impl = sa.String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


class Role(StrEnum):
    admin = "admin"
    author = "author"
    rep = "rep"


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    email: str = Field(unique=True, index=True)
    role: Role = Field(sa_type=EnumText(Role, 16))
    title: str | None = None
    signature: str | None = Field(default=None, sa_type=sa.Text)  # {{my_signature}}
    # IANA name: an enrollment's zone when its lead's is not known (PATCH /users/me)
    timezone: str | None = None
    is_active: bool = True
    created_at: datetime = _ts()


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(unique=True, index=True)
    prefix: str
    label: str | None = None
    created_at: datetime = _ts()
    revoked: bool = False


class Person(SQLModel, table=True):
    """Someone sales can reach, as Marketo has them (synced, read-only here but for a rep's
    override of their zone and country). Marketo may hold two leads with one address: they
    stay two people, as in Sales Insight Actions."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True)
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    title: str | None = None
    phone: str | None = None
    mobile_phone: str | None = None
    # The zone (IANA) and country (ISO 3166-1 alpha-2) in use: the override, else derived
    # from the location below (cadence/location.py), with where each came from
    # (cadence.domain.location.Source). Recomputed by every sync and every override change.
    timezone: str | None = None
    timezone_source: str | None = None
    country: str | None = None
    country_source: str | None = None
    # A rep's or admin's choice, kept across syncs; who set it and when.
    timezone_override: str | None = None
    timezone_override_by: int | None = Field(default=None, foreign_key="user.id")
    timezone_override_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    country_override: str | None = None
    country_override_by: int | None = Field(default=None, foreign_key="user.id")
    country_override_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    # Marketo's location fields, as free text: the address and what it inferred from the
    # person's first web visit.
    address_country: str | None = None
    address_state: str | None = None
    address_city: str | None = None
    address_postal_code: str | None = None
    inferred_country: str | None = None
    inferred_state: str | None = None
    inferred_city: str | None = None
    # Bumped whenever the zone or country in use changes; running enrollments have been told
    # up to ``location_notified`` (cadence/people_location.py).
    location_version: int = 0
    location_notified: int = 0
    linkedin_url: str | None = None
    source: str | None = None
    sales_owner: str | None = None
    marketo_id: int | None = Field(default=None, unique=True, index=True)
    sfdc_lead_id: str | None = None
    sfdc_contact_id: str | None = None
    sfdc_account_id: str | None = None
    sfdc_oppty_id: str | None = None
    unsubscribed: bool = False
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Campaign(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    description: str | None = None
    created_by: int | None = Field(default=None, foreign_key="user.id")
    current_version: int = 1
    created_at: datetime = _ts()


class CampaignVersion(SQLModel, table=True):
    """An immutable snapshot of a playbook; enrollments pin the version they started on."""

    __table_args__ = (sa.UniqueConstraint("campaign_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    version: int
    source_yaml: str = Field(sa_type=sa.Text)
    playbook: dict[str, Any] = Field(sa_column=Column(sa.JSON, nullable=False))
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = _ts()


# Only the first of a person's enrollments in a campaign whose run did not stop without
# finishing: a person is never enrolled twice in a campaign (even after Temporal has forgotten
# a closed run), but one whose run was terminated, failed or lost can be enrolled again.
ONE_ENROLLMENT = sa.text("status != 'failed'")


class Enrollment(SQLModel, table=True):
    """One row per enrollment, written before the workflow starts. At most one per (campaign,
    person) that is not ``failed``; ``failed`` rows stay as the record of runs that stopped."""

    __table_args__ = (
        sa.Index(
            "uq_enrollment_campaign_person",
            "campaign_id",
            "person_id",
            unique=True,
            sqlite_where=ONE_ENROLLMENT,
            postgresql_where=ONE_ENROLLMENT,
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    campaign_version: int
    person_id: int = Field(foreign_key="person.id", index=True)
    owner_id: int = Field(foreign_key="user.id", index=True)
    workflow_id: str = Field(unique=True)
    status: EnrollmentStatus = Field(
        default=EnrollmentStatus.active, sa_type=EnumText(EnrollmentStatus, 16)
    )
    end_reason: str | None = Field(default=None, index=True)  # cadence.domain.contracts.EndReason
    end_note: str | None = None
    created_at: datetime = _ts()
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime())


class BlockedDomain(SQLModel, table=True):
    """A recipient domain no sales email may go to (an admin's list)."""

    __tablename__ = "blocked_domain"
    domain: str = Field(primary_key=True)  # lower case, e.g. "competitor.example"
    note: str | None = None
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = _ts()


class SendSlot(SQLModel, table=True):
    """One send counted against its sender's mailbox quota (cadence/services/email/quota.py)."""

    __tablename__ = "send_slot"
    id: int | None = Field(default=None, primary_key=True)
    sender: str = Field(index=True)
    at: datetime = Field(sa_type=UtcDateTime(), index=True)


class Task(SQLModel, table=True):
    """A rep's to-do created by a task step (call, LinkedIn, InMail, custom). The enrollment
    workflow waits for it to be completed or skipped."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)  # workflow id + step id: a retried create makes no second
    enrollment_id: int = Field(foreign_key="enrollment.id", index=True)
    workflow_id: str = Field(index=True)
    step_id: str
    type: str
    title: str
    notes: str | None = Field(default=None, sa_type=sa.Text)
    priority: str = "normal"
    person_id: int = Field(foreign_key="person.id", index=True)
    owner_id: int = Field(foreign_key="user.id", index=True)
    due_at: datetime = Field(sa_type=UtcDateTime(), index=True)
    status: TaskStatus = Field(default=TaskStatus.open, sa_type=EnumText(TaskStatus, 16))
    outcome: str | None = None
    outcome_notes: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _ts()
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    # Reminder-task sync with Salesforce: the Task there, and what it has seen of this one.
    sfdc_task_id: str | None = Field(default=None, index=True)
    updated_at: datetime = _ts()
    synced_at: datetime | None = Field(default=None, sa_type=UtcDateTime())


class ActivityLog(SQLModel, table=True):
    """A sales activity. ``key`` is derived from its cause (e.g. workflow id + step), so a
    retried writer never records it twice; ``id`` orders the shippers' cursors."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    kind: ActivityKind = Field(sa_type=EnumText(ActivityKind, 32), index=True)
    occurred_at: datetime = _ts()
    person_id: int = Field(foreign_key="person.id", index=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    enrollment_id: int | None = Field(default=None, foreign_key="enrollment.id")
    user_id: int | None = Field(default=None, foreign_key="user.id")
    subject: str | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(sa.JSON, nullable=False))


class EmailMessage(SQLModel, table=True):
    """Every sales email, keyed by its deterministic Message-ID."""

    message_id: str = Field(primary_key=True)
    enrollment_id: int | None = Field(default=None, foreign_key="enrollment.id", index=True)
    step_id: str | None = None
    person_id: int = Field(foreign_key="person.id", index=True)
    sender: str
    recipient: str = Field(index=True)
    subject: str
    body_text: str = Field(sa_type=sa.Text)
    # sending (an attempt holds the lease), sent, unsent (surely not kept by the server: a
    # retry sends), unconfirmed (an attempt died mid-send and no Sent-folder check could
    # tell), bounced.
    status: str = "sending"
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    # Until when the sending attempt may still finish the SMTP transaction.
    lease_until: datetime | None = Field(default=None, sa_type=UtcDateTime())
    cc: list[str] = Field(default_factory=list, sa_column=Column(sa.JSON, nullable=False))
    bcc: list[str] = Field(default_factory=list, sa_column=Column(sa.JSON, nullable=False))
    attachment_ids: list[int] = Field(
        default_factory=list, sa_column=Column(sa.JSON, nullable=False)
    )
    template: str | None = None  # the step id, or the name given to a one-off email


MAX_ATTACHMENTS_BYTES = 23 * 1024 * 1024  # per email, as the product we follow allows


class Attachment(SQLModel, table=True):
    """A file uploaded for sending (POST /attachments); emails refer to it by id."""

    id: int | None = Field(default=None, primary_key=True)
    filename: str
    content_type: str
    size: int
    sha256: str
    data: bytes = Field(sa_type=sa.LargeBinary)
    owner_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = _ts()


class InboundMessage(SQLModel, table=True):
    """A message that came in (API, IMAP or the local sink), kept whole with what was made of
    it. Unmatched mail stays here, visible, with ``person_id`` empty."""

    __tablename__ = "inbound_message"
    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(unique=True)  # of the raw bytes: the same message twice is one row
    source: str  # api, imap, sink
    mailbox: str | None = Field(default=None, index=True)  # the address it came in on
    message_id: str | None = None  # its own Message-ID
    sender: str
    subject: str
    raw: bytes = Field(sa_type=sa.LargeBinary)
    received_at: datetime = _ts(index=True)
    label: str | None = Field(default=None, index=True)  # None until processed
    reason: str | None = None
    status_code: str | None = None  # bounces: RFC 3463
    return_date: date | None = None  # out-of-office
    failed_recipient: str | None = None
    matched_by: str | None = None  # thread, sender, recipient, cc; None = unmatched
    in_reply_to: str | None = Field(default=None, index=True)  # our Message-ID it answers
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    enrollment_ids: list[int] = Field(
        default_factory=list, sa_column=Column(sa.JSON, nullable=False)
    )
    processed_at: datetime | None = Field(default=None, sa_type=UtcDateTime())


class InvalidAddress(SQLModel, table=True):
    """An address that hard-bounced: no campaign sends to it again."""

    __tablename__ = "invalid_address"
    address: str = Field(primary_key=True)  # lower case
    reason: str
    status_code: str | None = None
    inbound_id: int | None = Field(default=None, foreign_key="inbound_message.id")
    created_at: datetime = _ts()


class ShipCursor(SQLModel, table=True):
    """How far a shipper has drained the activity log for one destination."""

    destination: str = Field(primary_key=True)
    last_id: int = 0
    shipped: int = 0
    skipped: int = 0
    ambiguous_retries: int = 0  # calls that failed in a way that may have gone through
    possible_duplicates: int = 0  # rows sent again after such a call (Marketo)
    # The highest id seen at ``watermark_at``: once a commit grace has passed, the cursor may
    # move up to it (see cadence/services/shipping.py).
    watermark_id: int = 0
    watermark_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    updated_at: datetime = _ts()


class ShipOutcome(SQLModel, table=True):
    """What happened to one activity at one destination (nothing is dropped silently)."""

    activity_id: int = Field(foreign_key="activitylog.id", primary_key=True)
    destination: str = Field(primary_key=True)
    status: str
    remote_id: str | None = None
    reason: str | None = None
    shipped_at: datetime = _ts()


class SyncState(SQLModel, table=True):
    """Small durable key/value state for syncs (e.g. the Marketo people-sync watermark)."""

    name: str = Field(primary_key=True)
    value: str
    updated_at: datetime = _ts()
