"""The data that crosses the workflow boundary: workflow inputs, messages, activity inputs and
results, and the custom search attributes. Pure pydantic models (one model per input)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field
from temporalio.common import SearchAttributeKey

from cadence.domain.playbook import Playbook

Key = TypeVar("Key", bound=SearchAttributeKey[Any])

# One task queue for workflows and database work, one per external system (each rate-limited).
TASK_QUEUE = "cadence"
SMTP_QUEUE = "cadence-smtp"
MARKETO_QUEUE = "cadence-marketo"
SALESFORCE_QUEUE = "cadence-salesforce"
IMAP_QUEUE = "cadence-imap"

# Custom search attributes of enrollments (the Temporal UI's filters). Their names keep clear
# of Temporal's own (ExecutionStatus, WorkflowType, ...; `Status` is the SQL visibility
# column of ExecutionStatus and cannot be queried). The local stack and the test servers
# register exactly this list.
SEARCH_ATTRIBUTE_KEYS: list[SearchAttributeKey[Any]] = []  # every one, in this order


def _search_attribute(key: Key) -> Key:
    SEARCH_ATTRIBUTE_KEYS.append(key)
    return key


CAMPAIGN_ID = _search_attribute(SearchAttributeKey.for_keyword("CampaignId"))
CAMPAIGN_VERSION = _search_attribute(SearchAttributeKey.for_int("CampaignVersion"))
PERSON_ID = _search_attribute(SearchAttributeKey.for_keyword("PersonId"))
OWNER_ID = _search_attribute(SearchAttributeKey.for_keyword("OwnerId"))
STEP = _search_attribute(SearchAttributeKey.for_keyword("Step"))  # the step waited for
ENROLLMENT_STATUS = _search_attribute(SearchAttributeKey.for_keyword("EnrollmentStatus"))
END_REASON = _search_attribute(SearchAttributeKey.for_keyword("EndReason"))

# name -> Temporal indexed value type ("Keyword", "Int"), for registering them on a server.
SEARCH_ATTRIBUTES: dict[str, str] = {
    key.name: key.indexed_value_type.name.capitalize() for key in SEARCH_ATTRIBUTE_KEYS
}


def enrollment_workflow_id(campaign_id: int, person_id: int, attempt: int = 1) -> str:
    """``enrollment/{campaign}/{person}``; a person enrolled again after a run that ended
    without finishing (see EnrollmentStatus.failed) gets ``.../{attempt}`` (2, 3, ...)."""
    base = f"enrollment/{campaign_id}/{person_id}"
    return base if attempt == 1 else f"{base}/{attempt}"


class PersonName(BaseModel):
    """Who a person is, as Marketo has them (the table, the API and the workflows)."""

    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    title: str | None = None


class LocationInUse(BaseModel):
    """The zone and country in use for a person (the override, else derived from what
    Marketo has: cadence/domain/location.py), and where each came from. None: not known
    (an enrollment falls back to its owner's zone, the playbook's, then UTC)."""

    timezone: str | None = None  # IANA
    timezone_source: str | None = Field(
        default=None,
        description="Where `timezone` came from: override, state, country, phone or inferred",
    )
    country: str | None = None  # ISO 3166-1 alpha-2: the holiday calendar's
    country_source: str | None = Field(
        default=None,
        description="Where `country` came from: override, country, state, phone, inferred, "
        "or zone (the country of `timezone`)",
    )


class PersonSnapshot(LocationInUse, PersonName):
    """The person an enrollment or an email is for, as it started."""

    id: int
    email: str


class OwnerSnapshot(BaseModel):
    id: int
    name: str
    email: str
    title: str | None = None
    timezone: str | None = None


class EnrollmentStatus(StrEnum):
    """Where an enrollment stands: one vocabulary for the database, the API, the workflow
    and the EnrollmentStatus search attribute."""

    active = "active"  # running: waiting for a step, sending, or waiting on a rep's task
    paused = "paused"  # running, holding every remaining step until resumed
    completed = "completed"  # ended by itself (end_reason: finished, success, replied, ...)
    removed = "removed"  # ended by a rep (end_reason: removed)
    # The run stopped without ending itself (end_reason: terminated, failed, timed_out,
    # canceled, not_found); noticed on read and by the sweep. The person can be enrolled again.
    failed = "failed"


RUNNING_STATUSES = (EnrollmentStatus.active, EnrollmentStatus.paused)


class TaskStatus(StrEnum):
    """Where a rep's task stands: one vocabulary for the database, the API and the workflow."""

    open = "open"
    completed = "completed"
    skipped = "skipped"  # by the rep, or automatically after `autoskip_after`
    cancelled = "cancelled"  # the enrollment ended first


# How a rep (or the clock) closes a task, and how a task can end.
TaskOutcome = Literal[TaskStatus.completed, TaskStatus.skipped]
TaskEnd = Literal[TaskStatus.completed, TaskStatus.skipped, TaskStatus.cancelled]


class EndReason(StrEnum):
    """Why an enrollment ended: stored, shown and searchable (the EndReason attribute)."""

    finished = "finished"  # the last step is done
    removed = "removed"  # a rep removed the person
    success = "success"  # a rep marked the enrollment a success
    replied = "replied"
    replied_success = "replied_success"
    bounced = "bounced"
    unsubscribed = "unsubscribed"
    # The run stopped from outside or broke (status "failed"), as Temporal reports it:
    terminated = "terminated"  # e.g. `temporal workflow terminate`
    failed = "failed"  # the workflow failed (a bug)
    timed_out = "timed_out"  # a workflow execution timeout
    canceled = "canceled"
    not_found = "not_found"  # Temporal no longer knows the run (deleted after retention)


StepStatus = Literal["sent", "skipped", "completed"]


class StepRecord(BaseModel):
    step_id: str
    status: StepStatus
    at: datetime
    message_id: str | None = None
    reason: str | None = None
    # The step's type and day in the version it ran on: a migration may drop or move it.
    # (None in records made before they were kept.)
    type: str | None = None
    day: int | None = None
    # The zone the enrollment was in when the step was done, and why (None before kept).
    timezone: str | None = None
    timezone_source: str | None = None


class EnrollmentInput(BaseModel):
    enrollment_id: int
    campaign_id: int
    campaign_name: str
    campaign_version: int
    person: PersonSnapshot
    owner: OwnerSnapshot
    playbook: Playbook
    holiday_dates: list[date] = Field(default_factory=list)
    # The run's start (Day 1 is counted from it); a simulation of the past sets it.
    started_at: datetime | None = None
    # The person's location version the snapshot (and holiday_dates) reflect: a change_location
    # signal of this version or older changes nothing.
    location_version: int = 0
    # Only for simulations of a start in the past: added to the server's clock.
    clock_offset: timedelta = timedelta(0)
    # Everything the last run carried, whole, when this run continues it (continue-as-new).
    state: EnrollmentRunState | None = None
    # What runs before EnrollmentRunState carried across continue-as-new (read when ``state``
    # is None), still written for workers of that older code during a deploy. Never add to
    # these: a new field goes into EnrollmentRunState.
    done: list[StepRecord] = Field(default_factory=list)
    day_shift: int = 0
    paused_at: datetime | None = None
    pause_note: str | None = None
    auto_resume_at: datetime | None = None
    rescheduled: dict[str, datetime] = Field(default_factory=dict)

    def run_state(self) -> EnrollmentRunState:
        """The state this run starts from: the one carried, or (a fresh start, or a run
        continued by the older code) the one its legacy fields say."""
        if self.state is not None:
            return self.state.model_copy(deep=True)
        return EnrollmentRunState(
            started_at=self.started_at,
            status=EnrollmentStatus.paused if self.paused_at else EnrollmentStatus.active,
            done=list(self.done),
            day_shift=self.day_shift,
            paused_at=self.paused_at,
            pause_note=self.pause_note,
            auto_resume_at=self.auto_resume_at,
            rescheduled=dict(self.rescheduled),
        )

    def continued(self, state: EnrollmentRunState) -> EnrollmentInput:
        """The input of the run that continues this one (continue-as-new) with ``state``,
        carried whole; the legacy fields say the same for a worker of the older code."""
        legacy = {
            "started_at": state.started_at,
            "done": state.done,
            "day_shift": state.day_shift,
            "paused_at": state.paused_at,
            "pause_note": state.pause_note,
            "auto_resume_at": state.auto_resume_at,
            "rescheduled": state.rescheduled,
        }
        return self.model_copy(update={**legacy, "state": state.model_copy(deep=True)})


class EnrollmentRunState(BaseModel):
    """Everything an enrollment run keeps that is not derived from its input: what the
    workflow's handlers and loop read and change. Continue-as-new carries it whole
    (EnrollmentInput.state): a field added here is carried without more code."""

    started_at: datetime | None = None  # set when the first run starts
    status: EnrollmentStatus = EnrollmentStatus.active
    done: list[StepRecord] = Field(default_factory=list)
    # How far later steps have moved (pauses, tasks completed late), in sending days.
    day_shift: int = 0
    paused_at: datetime | None = None
    pause_note: str | None = None
    auto_resume_at: datetime | None = None  # out-of-office: back then
    rescheduled: dict[str, datetime] = Field(default_factory=dict)  # step id -> new instant
    current_step: str | None = None
    next_due_at: datetime | None = None
    open_task: str | None = None  # the step whose task waits for the rep
    open_task_due: datetime | None = None
    task_done: TaskDone | None = None  # how the rep closed it (taken by the run)
    skip_requested: bool = False
    interrupts: int = 0  # bumped by every handler that changes what the wait is for
    # Taken at the next step boundary:
    location_change: LocationChange | None = None
    migration: MigrateRequest | None = None
    # What ends it: a rep's removal or success, or mail (a reply, bounce or unsubscribe).
    removal: RemoveRequest | None = None
    success: MarkSuccessRequest | None = None
    inbound_end: EndReason | None = None
    end_reason: EndReason | None = None
    blocked_reason: str | None = None  # why an automatic email could not render


class RemoveRequest(BaseModel):
    note: str | None = None  # the rep's words, kept beside the typed reason
    by_user_id: int | None = None


class TimelineEntry(BaseModel):
    """One step of an enrollment: done (with when), due now, planned (projected), or never."""

    step_id: str
    type: str
    day: int | None  # None for a step done on an older version, recorded without its day
    status: Literal["sent", "skipped", "completed", "due", "task_open", "planned", "not_reached"]
    at: datetime | None = None
    reason: str | None = None
    # The zone ``at`` is planned in (or a done step was done in), and why: the lead's
    # (override, state, country, phone, inferred; "lead" for a zone of unknown origin), else
    # the owner's, the playbook's, or UTC by default.
    timezone: str | None = None
    timezone_source: str | None = None


class SkipStepRequest(BaseModel):
    step_id: str  # the step the enrollment waits for
    by_user_id: int | None = None


class RescheduleRequest(BaseModel):
    step_id: str  # the step the enrollment waits for
    at: datetime  # when it should happen instead (still kept inside the send window)
    by_user_id: int | None = None


class MarkSuccessRequest(BaseModel):
    note: str | None = None
    by_user_id: int | None = None


class MigrateRequest(BaseModel):
    """Move a running enrollment to another version of its campaign."""

    version: int
    playbook: Playbook
    by_user_id: int | None = None


class InboundEvent(BaseModel):
    """Mail about this enrollment, as the inbound pipeline classified it."""

    kind: Literal["reply", "out_of_office", "bounce", "unsubscribe"]
    return_date: date | None = None  # out-of-office: the day the person is back, if stated
    message_id: str | None = None


class LocationChange(LocationInUse):
    """The person's zone or country changed (a rep's override, or a sync): what the
    enrollment uses from its next step boundary on (the calendar's country is the zone's
    when the lead has none)."""

    version: int  # Person.location_version: an older change than the one applied is ignored
    holiday_dates: list[date] = Field(default_factory=list)  # as EnrollmentInput's


class LocationSignal(BaseModel):
    """Tell one running enrollment about its person's new location."""

    workflow_id: str
    change: LocationChange


class LocationNoticesInput(BaseModel):
    limit: int = 500  # signals per people-sync run; the rest wait for the next run


class LocationNotices(BaseModel):
    """Running enrollments to tell, and the version each person is told up to."""

    signals: list[LocationSignal] = Field(default_factory=list)
    versions: dict[int, int] = Field(default_factory=dict)  # person id -> location version


class InboundSignal(BaseModel):
    """Tell one running enrollment about an inbound message."""

    workflow_id: str
    event: InboundEvent


class InboundMailInput(BaseModel):
    """A stored inbound message: its row and the digest of its bytes."""

    inbound_id: int
    sha256: str


class InboundMailResult(BaseModel):
    signalled: list[str] = []  # workflow ids told
    gone: list[str] = []  # had ended meanwhile


class MailboxPollInput(BaseModel):
    """Poll one IMAP mailbox; the cursor is where the last poll stopped."""

    mailbox: str  # the address, as in CADENCE_MAILBOXES
    uidvalidity: int | None = None
    last_uid: int = 0
    polls: int = 0
    poll_seconds: float = 60.0


class MailboxPollSettings(BaseModel):
    """What a running poller takes from the settings (its ``reconfigure`` signal)."""

    poll_seconds: float


class MailboxPollResult(BaseModel):
    uidvalidity: int | None
    last_uid: int
    stored: list[InboundMailInput] = []  # what this poll read (new, or kept before)


class PauseRequest(BaseModel):
    note: str | None = None
    by_user_id: int | None = None


class ResumeRequest(BaseModel):
    by_user_id: int | None = None


class EnrollmentState(BaseModel):
    enrollment_id: int
    campaign_id: int
    person_id: int
    status: EnrollmentStatus
    timezone: str
    # Why this zone: the lead's (cadence.domain.location.Source, or "lead"), "owner", "playbook" or
    # "default" (UTC). The country of its calendar and why (None in older runs' answers).
    timezone_source: str | None = None
    country: str | None = None
    country_source: str | None = None
    current_step: str | None
    next_due_at: datetime | None
    end_reason: EndReason | None
    end_note: str | None = None
    paused_at: datetime | None = None
    pause_note: str | None = None  # e.g. "out of office until 2026-12-07"
    resumes_at: datetime | None = None  # an out-of-office pause ends by itself then
    day_shift: int = 0
    open_task: str | None = None  # the step whose task waits for the rep
    steps: list[StepRecord]


class SendEmailInput(BaseModel):
    """One personalised email. Campaign steps carry the enrollment's ids; a one-off email
    (POST /emails) has none, and its step_id names the recipient within the request."""

    workflow_id: str
    enrollment_id: int | None
    campaign_id: int | None
    campaign_name: str | None
    step_id: str
    step_day: int | None
    person_id: int
    owner: OwnerSnapshot
    subject: str | None
    body: str
    in_reply_to: str | None = None
    thread_subject: str | None = None
    cc: list[str] = Field(default_factory=list)
    bcc: list[str] = Field(default_factory=list)
    attachment_ids: list[int] = Field(default_factory=list)
    # False for transactional mail: no unsubscribe footer or List-Unsubscribe headers.
    commercial: bool = True
    template: str | None = None  # shown in the Email tab; a campaign step's id by default


SendGuard = Literal["unsubscribed", "bounced_before", "blocked_domain"]


class SendEmailResult(BaseModel):
    status: StepStatus
    message_id: str | None = None
    subject: str | None = None
    sent_at: datetime | None = None
    reason: str | None = None
    # Set when a send-time guard stopped the email (the decision is in the history).
    guard: SendGuard | None = None


class SalesEmailInput(BaseModel):
    """A one-off or group sales email (POST /emails): one personalised message per person."""

    owner: OwnerSnapshot
    person_ids: list[int]
    subject: str
    body: str
    cc: list[str] = Field(default_factory=list)
    bcc: list[str] = Field(default_factory=list)
    attachment_ids: list[int] = Field(default_factory=list)
    commercial: bool = True
    template: str | None = None


class SalesEmailOutcome(BaseModel):
    person_id: int
    status: Literal["pending", "sent", "skipped", "failed"] = "pending"
    message_id: str | None = None
    reason: str | None = None
    guard: SendGuard | None = None


def sales_email_step_id(person_id: int) -> str:
    """The step id of one recipient's message (with the workflow id, its Message-ID)."""
    return f"person-{person_id}"


class TaskDone(BaseModel):
    """How a rep (or the clock) closed a task; sent with the complete_task update."""

    step_id: str
    status: TaskOutcome = TaskStatus.completed
    outcome: str | None = None  # e.g. a call's result: "connected", "left voicemail"
    notes: str | None = None
    by_user_id: int | None = None
    # Manual emails: the rep's final subject and body (templates; the draft when omitted).
    subject: str | None = None
    body: str | None = None
    cc: list[str] = Field(default_factory=list)
    bcc: list[str] = Field(default_factory=list)
    attachment_ids: list[int] = Field(default_factory=list)


class CreateTaskInput(BaseModel):
    workflow_id: str
    enrollment_id: int
    campaign_name: str
    step_id: str
    type: str
    title: str  # a template, rendered for the person
    notes: str | None
    priority: str
    person_id: int
    owner_id: int
    due_at: datetime


class CreateTaskResult(BaseModel):
    task_id: int
    # Set when the task is done at creation: `cadence playbook simulate` completes tasks the
    # moment they fall due. The real activity leaves it None and the rep completes the task.
    done: TaskDone | None = None


class CloseTaskInput(BaseModel):
    task_id: int
    workflow_id: str
    status: TaskEnd
    outcome: str | None = None
    notes: str | None = None
    closed_at: datetime


class FinishEnrollmentInput(BaseModel):
    workflow_id: str
    enrollment_id: int
    status: EnrollmentStatus
    end_reason: EndReason
    end_note: str | None = None
    removed_by: int | None = None


class RecordStatusInput(BaseModel):
    """A running enrollment's status changed (paused or active again): write it to its row."""

    enrollment_id: int
    status: EnrollmentStatus


class EnrollmentSweepInput(BaseModel):
    """Check every enrollment the database holds as running against Temporal."""

    batch_size: int = 200  # rows read (and runs described) per batch
    concurrency: int = 10  # describe calls in flight
    start_grace_seconds: float = 300.0  # a younger row without a run may still be starting


class EnrollmentSweepResult(BaseModel):
    checked: int = 0
    ended: dict[str, int] = Field(default_factory=dict)  # end reason -> rows recorded


class ShipperInput(BaseModel):
    destination: Literal["marketo", "salesforce"]
    batch_size: int = 300
    poll_seconds: float = 2.0


class ShipperSettings(BaseModel):
    """What a running shipper takes from the settings (its ``reconfigure`` signal)."""

    batch_size: int
    poll_seconds: float


class ShipBatchInput(BaseModel):
    destination: Literal["marketo", "salesforce"]
    limit: int


class ShipBatchResult(BaseModel):
    examined: int = 0
    shipped: int = 0
    skipped: int = 0
    deferred: int = 0  # the person has no id at the destination yet
    retrying: int = 0  # refused for now; sent again
    possible_duplicates: int = 0  # sent again after a call that may have added them
    last_id: int = 0


class PeopleSyncInput(BaseModel):
    full: bool = False


class PeopleSyncResult(BaseModel):
    created: int = 0
    updated: int = 0
    ignored_without_owner: int = 0
    locations_told: int = 0  # running enrollments told of their person's new zone or country


class OptOutSyncInput(BaseModel):
    pass


class OptOutSyncResult(BaseModel):
    """People Salesforce has opted out of email that were still subscribed here."""

    unsubscribed: int = 0
    signals: list[InboundSignal] = Field(default_factory=list)  # their running enrollments


class TaskSyncInput(BaseModel):
    pass


class TaskSyncResult(BaseModel):
    pushed: int = 0  # tasks created or changed here, now in Salesforce
    completed: int = 0  # completed in Salesforce, so here too
    updated: int = 0  # priority, due date or comments changed there, copied here


# EnrollmentInput and EnrollmentRunState refer to models defined after them.
EnrollmentRunState.model_rebuild()
EnrollmentInput.model_rebuild()
