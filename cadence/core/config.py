"""Process settings, read from the environment (prefix ``CADENCE_``) or a ``.env`` file.

Nothing defaults to the local stack: the fakes' and the sink's addresses, their credentials
and the database come from ``make run`` (temporal-dev.yaml), which also writes them to
``.data/cadence.env`` for commands run by hand. An integration left unset is off; one set by
halves is refused at start (`ConfigError` names the missing settings).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cadence.domain.salesforce_tasks import (
    DEFAULT_SUBJECT_TEMPLATE,
    FAMILIES,
    SUBJECT_TOKENS,
    unknown_tokens,
)

ROOT = Path(__file__).resolve().parents[2]
TEAM_INBOX = "team"  # the name of the team server's inbox among the mailboxes
LOCAL_ENV_FILE = ".data/cadence.env"  # what `make run` writes for commands run by hand


class ConfigError(Exception):
    """The settings cannot work as given; the message names the settings to set."""


class Mailbox(BaseModel):
    """An SMTP server to send through, and where to look for a message it may have sent.

    ``sent_check_url`` makes delivery exactly-once when a worker dies mid-send: an IMAP
    folder (``imaps://user@host:993/Sent``; the login defaults to the SMTP one) or an HTTP
    endpoint answering ``?message_id=`` with ``{"count": n}`` (the local sink's API).
    A mailbox without a ``host`` only reads replies (``inbox_url``); its sender sends through
    the team server.
    """

    host: str | None = None
    port: int = 587
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

    def problems(self, name: str) -> list[str]:
        """What is missing for this mailbox to work, ``name`` being how to call it."""
        smtp_only = {"port", "starttls", "tls", "sent_check_url", "sent_check_password"}
        if self.host is None:
            if given := sorted(smtp_only & self.model_fields_set):
                return [f"{name}.host is missing ({', '.join(given)} given)"]
            if not self.inbox_url:
                return [f"{name} needs a host (to send) or an inbox_url (to read replies)"]
            return []
        return _pair(f"{name}.username", self.username, f"{name}.password", self.password)


def _pair(a_name: str, a: object, b_name: str, b: object) -> list[str]:
    """Two settings that only work together (a login and its password)."""
    if a and not b:
        return [f"{b_name} is missing ({a_name} is set)"]
    if b and not a:
        return [f"{a_name} is missing ({b_name} is set)"]
    return []


def _env(field: str) -> str:
    return f"CADENCE_{field.upper()}"


# Each integration is on when all its settings are set, off when none is; anything between
# is refused at start.
INTEGRATIONS: dict[str, tuple[str, ...]] = {
    "marketo": ("marketo_base_url", "marketo_client_id", "marketo_client_secret"),
    "salesforce": ("salesforce_base_url", "salesforce_client_id", "salesforce_client_secret"),
    "smtp": ("smtp_host",),
}
# What is on when all its settings are set: the integrations (never set by halves), and the
# tracking links (a public URL alone is harmless; a secret alone is refused).
SWITCHES: dict[str, tuple[str, ...]] = {
    **INTEGRATIONS,
    "tracking": ("tracking_secret", "public_base_url"),
}


def off_hint(name: str) -> str:
    """The settings that turn an integration on: ``A, B and C``."""
    names = [_env(f) for f in SWITCHES[name]]
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


# Settings of the team SMTP server that mean nothing without its host.
_SMTP_DETAILS = ("smtp_port", "smtp_starttls", "smtp_tls", "smtp_ca_file", "sent_check_url",
                 "sent_check_password")  # fmt: skip


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
    # The unsubscribe check at send time: how long Marketo's answer for a person is reused,
    # how many checks a worker may make per 20 s (a share of Marketo's 100 per 20 s), and how
    # long one may take before the send goes on with the synced flag.
    marketo_unsubscribe_cache_seconds: float = Field(default=30.0, ge=0)
    marketo_unsubscribe_checks_per_20s: int = Field(default=20, ge=0, le=100)
    marketo_unsubscribe_timeout_seconds: float = Field(default=3.0, gt=0)
    salesforce_activities_per_second: float = 10.0

    # App database: SQLite (sqlite:////var/lib/cadence/cadence.db) or PostgreSQL
    # (postgresql+psycopg://...). No default: see require_database_url.
    database_url: str | None = None
    # Threads that run activities' database work. Few is faster: SQLite takes one writer at
    # a time and more threads only fight over the GIL with the worker's event loop.
    db_threads: int = Field(default=2, ge=1, le=64)

    # API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # The API as recipients' browsers reach it: the root of tracking and unsubscribe links
    # (needed with a tracking secret; the local stack sets its own).
    public_base_url: str | None = None
    # Signs open, click and unsubscribe links; without it emails carry no tracking.
    tracking_secret: SecretStr | None = None

    # Outbound email: the team SMTP server (off without a host)
    smtp_host: str | None = None
    smtp_port: int = 587
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
    # Repeated soft bounces: this many for one address within the window count as a hard
    # bounce (docs/replies.md). 0 turns the rule off.
    soft_bounce_limit: int = Field(default=3, ge=0)
    soft_bounce_days: float = Field(default=30.0, gt=0)

    # Marketo and Salesforce
    marketo_base_url: str | None = None  # https://<munchkin>.mktorest.com
    marketo_client_id: str | None = None
    marketo_client_secret: SecretStr | None = None
    salesforce_base_url: str | None = None  # the My Domain URL
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
    people_sync_minutes: float = Field(default=0.5, gt=0)
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

    @model_validator(mode="after")
    def _nothing_by_halves(self) -> Settings:
        problems: list[str] = []
        for name, fields in INTEGRATIONS.items():
            missing = [f for f in fields if not getattr(self, f)]
            if 0 < len(missing) < len(fields):
                given = [_env(f) for f in fields if f not in missing]
                problems.append(
                    f"{name} is configured by halves: {', '.join(map(_env, missing))} "
                    f"{'is' if len(missing) == 1 else 'are'} missing ({', '.join(given)} set); "
                    f"set all of them, or none to leave {name} off"
                )
        if self.smtp_host:
            problems += _pair(_env("smtp_username"), self.smtp_username,
                              _env("smtp_password"), self.smtp_password)  # fmt: skip
        else:
            details = [_env(f) for f in _SMTP_DETAILS if f in self.model_fields_set]
            if not self.inbox_url:  # without a team inbox the login is only for SMTP
                details += [_env(f) for f in ("smtp_username", "smtp_password")
                            if getattr(self, f)]  # fmt: skip
            if details:
                problems.append(f"CADENCE_SMTP_HOST is missing ({', '.join(details)} set)")
        for address, mailbox in self.mailboxes.items():
            problems += mailbox.problems(f'CADENCE_MAILBOXES["{address}"]')
        if self.tracking_secret and not self.public_base_url:
            problems.append(
                "CADENCE_PUBLIC_BASE_URL is missing (CADENCE_TRACKING_SECRET set): tracking and "
                "unsubscribe links need the address recipients' browsers reach the API at"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def integrations(self) -> dict[str, bool]:
        """Which integrations (and tracking) are on: every setting they need is set."""
        return {name: all(getattr(self, f) for f in fields) for name, fields in SWITCHES.items()}

    def require_database_url(self) -> str:
        url = self.database_url
        if not url:
            raise ConfigError(
                "CADENCE_DATABASE_URL is not set: name the app database, e.g. "
                "sqlite:////var/lib/cadence/cadence.db or postgresql+psycopg://user@host/db "
                f"(for the local stack that `make run` runs: `. {LOCAL_ENV_FILE}`)"
            )
        return url

    def mailbox_for(self, sender: str) -> Mailbox:
        """The sender's own mailbox (one with a host), else the team SMTP server."""
        for address, mailbox in self.mailboxes.items():
            if address.lower() == sender.lower() and mailbox.host:
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
        return self.integrations()["marketo"]

    @property
    def salesforce_configured(self) -> bool:
        return self.integrations()["salesforce"]


@lru_cache
def get_settings() -> Settings:
    """The process's settings; `ConfigError` (naming the settings) when they cannot work."""
    try:
        return Settings()
    except ValidationError as err:
        raise ConfigError(describe(err)) from None


def describe(err: ValidationError) -> str:
    """A validation error in the settings' own names (``CADENCE_SMTP_PORT: Input should
    be ...``), without the values given (they may be secrets)."""
    lines = []
    for item in err.errors():
        message = item["msg"].removeprefix("Value error, ")
        field, *inner = item["loc"] or ("",)
        where = _env(str(field)) if field else ""
        for depth, part in enumerate(inner):  # a key of a dict setting, then its fields
            where += f'["{part}"]' if depth == 0 and isinstance(part, str) else f".{part}"
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)
