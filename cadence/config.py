"""Process settings, read from the environment (prefix ``CADENCE_``) or a ``.env`` file.

Defaults point at the local stack that ``make run`` starts. Credentials have no defaults:
they come from the environment (``cadence dev`` sets the local fakes' ones).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cadence.integrations.salesforce_tasks import (
    DEFAULT_SUBJECT_TEMPLATE,
    FAMILIES,
    SUBJECT_TOKENS,
    unknown_tokens,
)

ROOT = Path(__file__).resolve().parent.parent
TEAM_INBOX = "team"  # the name of the team server's inbox among the mailboxes


class Mailbox(BaseModel):
    """An SMTP server to send through, and where to look for a message it may have sent.

    ``sent_check_url`` makes delivery exactly-once when a worker dies mid-send: an IMAP
    folder (``imaps://user@host:993/Sent``; the login defaults to the SMTP one) or an HTTP
    endpoint answering ``?message_id=`` with ``{"count": n}`` (the local sink's API).
    """

    host: str = "127.0.0.1"
    port: int = 2525
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = False
    tls: bool = False
    ca_file: str | None = None  # trust this CA instead of the system ones (a private relay)
    sent_check_url: str | None = None
    sent_check_password: SecretStr | None = None
    # Where replies arrive: ``imaps://user@host:993/INBOX`` (the login defaults to the SMTP
    # one). A poller workflow per mailbox reads new mail from it every ``poll_seconds``.
    inbox_url: str | None = None
    inbox_password: SecretStr | None = None
    poll_seconds: float = Field(default=60.0, ge=5)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CADENCE_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    # Temporal
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    marketo_activities_per_second: float = 2.0
    # How long a call adding activities may take (Marketo allows itself 90 s); past it the
    # activities are in doubt and counted as possible duplicates when sent again.
    marketo_add_timeout_seconds: float = Field(default=95.0, gt=0)
    salesforce_activities_per_second: float = 10.0

    # App database (SQLite by default; PostgreSQL by URL, e.g. postgresql+psycopg://...)
    database_url: str = f"sqlite:///{ROOT / '.data' / 'cadence.db'}"
    # Threads that run activities' database work. Few is faster: SQLite takes one writer at
    # a time and more threads only fight over the GIL with the worker's event loop.
    db_threads: int = Field(default=2, ge=1, le=64)

    # API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"
    # Signs open, click and unsubscribe links; without it emails carry no tracking.
    tracking_secret: SecretStr | None = None

    # Outbound email
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_ca_file: str | None = None
    smtp_concurrency: int = Field(default=16, ge=1, le=256)
    # Per-sender mailbox limits, across all workers.
    mailbox_rate_count: int = Field(default=25, ge=1)
    mailbox_rate_seconds: float = Field(default=45.0, gt=0)
    mailbox_daily_cap: int = Field(default=1000, ge=1)
    smtp_messages_per_second: float | None = Field(default=None, gt=0)
    default_from_email: str = "sales@cadence.local"
    message_id_domain: str = "cadence.local"
    # The team SMTP server's Sent-folder check (see Mailbox), and a mailbox per sender
    # address (JSON: {"rep@example.com": {"host": ..., "port": 587, "starttls": true, ...}});
    # senders without one use the team server above.
    sent_check_url: str | None = None
    sent_check_password: SecretStr | None = None
    # Where replies arrive: ``imaps://user@host:993/INBOX`` (the login defaults to the SMTP
    # one). A poller workflow per mailbox reads new mail from it every ``poll_seconds``.
    inbox_url: str | None = None
    inbox_password: SecretStr | None = None
    poll_seconds: float = Field(default=60.0, ge=5)
    mailboxes: dict[str, Mailbox] = Field(default_factory=dict)
    # An attempt that has not finished its SMTP transaction within this many seconds gives up
    # before the final dot; only then may another attempt send the message again.
    send_lease_seconds: float = Field(default=60.0, ge=1)
    # Inbound mail: POST /inbound/email needs this token (Authorization: Bearer ...).
    inbound_token: SecretStr | None = None

    # Marketo and Salesforce
    marketo_base_url: str = "http://127.0.0.1:8101"
    marketo_client_id: str | None = None
    marketo_client_secret: SecretStr | None = None
    salesforce_base_url: str = "http://127.0.0.1:8102"
    salesforce_client_id: str | None = None
    salesforce_client_secret: SecretStr | None = None
    salesforce_api_version: str = "62.0"
    # The share of the org's daily API requests (Sforce-Limit-Info) we may use; past it the
    # shipper waits and leaves the rest to the org's other integrations.
    salesforce_api_usage_ceiling: float = Field(default=0.9, gt=0, le=1)
    # What becomes a Task: "emails" (sent and replies), "calls" (completed call tasks).
    salesforce_log: list[str] = Field(default_factory=lambda: ["emails", "calls"])
    salesforce_subject_template: str = DEFAULT_SUBJECT_TEMPLATE

    @field_validator("salesforce_log")
    @classmethod
    def _known_families(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(FAMILIES))
        if unknown:
            raise ValueError(f"unknown activity families {unknown}; use {sorted(FAMILIES)}")
        return value

    @field_validator("salesforce_subject_template")
    @classmethod
    def _known_tokens(cls, value: str) -> str:
        unknown = unknown_tokens(value)
        if unknown:
            raise ValueError(
                f"unknown tokens {unknown} in the subject template; use {list(SUBJECT_TOKENS)}"
            )
        return value

    # Background work
    shipper_poll_seconds: float = Field(default=2.0, gt=0)
    shipper_batch_marketo: int = Field(default=300, ge=1, le=300)
    shipper_batch_salesforce: int = Field(default=200, ge=1, le=200)
    # Longer than any transaction that writes the activity log: the shippers' cursors trail
    # new rows by this much, so a row whose commit comes late is never passed over.
    shipper_commit_grace_seconds: float = Field(default=60.0, ge=0)
    people_sync_minutes: float = Field(default=5.0, gt=0)
    # How often reminder tasks sync with Salesforce ("tasks" in salesforce_log).
    task_sync_minutes: float = Field(default=5.0, gt=0)
    # When Salesforce's email opt-outs are brought back (cron, UTC): nightly by default.
    opt_out_sync_cron: str = "0 2 * * *"
    # How often a bulk export's status is asked for (Marketo moves it once a minute).
    marketo_bulk_poll_seconds: float = Field(default=60.0, gt=0)
    # How often the database's running enrollments are checked against Temporal (runs that
    # were terminated, failed, timed out or deleted are recorded as ended).
    enrollment_sweep_minutes: float = Field(default=15.0, gt=0)
    # A younger enrollment without a workflow may still be starting: not declared gone.
    enrollment_start_grace_seconds: float = Field(default=300.0, ge=0)

    def mailbox_for(self, sender: str) -> Mailbox:
        """The sender's own mailbox, else the team SMTP server."""
        for address, mailbox in self.mailboxes.items():
            if address.lower() == sender.lower():
                return mailbox
        return Mailbox(
            host=self.smtp_host,
            port=self.smtp_port,
            username=self.smtp_username,
            password=self.smtp_password,
            starttls=self.smtp_starttls,
            tls=self.smtp_tls,
            ca_file=self.smtp_ca_file,
            sent_check_url=self.sent_check_url,
            sent_check_password=self.sent_check_password,
            inbox_url=self.inbox_url,
            inbox_password=self.inbox_password,
            poll_seconds=self.poll_seconds,
        )

    def inboxes(self) -> dict[str, Mailbox]:
        """The mailboxes whose incoming mail is read, by address; the team server's inbox
        (``CADENCE_INBOX_URL``) under the name ``team``."""
        found = {a.lower(): m for a, m in self.mailboxes.items() if m.inbox_url}
        if self.inbox_url:
            found[TEAM_INBOX] = self.mailbox_for(TEAM_INBOX)
        return found

    @property
    def marketo_configured(self) -> bool:
        return bool(self.marketo_client_id and self.marketo_client_secret)

    @property
    def salesforce_configured(self) -> bool:
        return bool(self.salesforce_client_id and self.salesforce_client_secret)


@lru_cache
def get_settings() -> Settings:
    return Settings()
