"""Per-mailbox sending limits, enforced across every worker through the app database: a rate
(default 25 emails per 45 s) and a daily cap (default 1,000 per UTC day) per sender.

A send first takes a slot: in one transaction it records the slot and counts the sender's
slots in the window; over a limit, the transaction is rolled back and the activity retries
after the wait (Temporal's `next_retry_delay`), so the enrollment waits instead of failing.
SQLite serializes writers; on PostgreSQL a transaction-scoped advisory lock per sender does.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from temporalio.exceptions import ApplicationError

from cadence.core.config import Settings
from cadence.core.models import UtcDateTime, utcnow


class QuotaWait(Exception):
    def __init__(self, reason: str, wait: timedelta) -> None:
        super().__init__(reason)
        self.reason, self.wait = reason, wait


_WHEN = UtcDateTime()
_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext(:sender))")
_INSERT = sa.text("INSERT INTO send_slot (sender, at) VALUES (:sender, :at)").bindparams(
    sa.bindparam("at", type_=_WHEN)
)
_COUNT = (
    sa.text(
        "SELECT SUM(CASE WHEN at >= :day_start THEN 1 ELSE 0 END) AS today, "
        "SUM(CASE WHEN at > :window_start THEN 1 ELSE 0 END) AS recent, "
        "MIN(CASE WHEN at > :window_start THEN at END) AS oldest "
        "FROM send_slot WHERE sender = :sender AND at >= :since"
    )
    .bindparams(
        sa.bindparam("day_start", type_=_WHEN),
        sa.bindparam("window_start", type_=_WHEN),
        sa.bindparam("since", type_=_WHEN),
    )
    .columns(sa.column("today", sa.Integer), sa.column("recent", sa.Integer),
             sa.column("oldest", _WHEN))
)  # fmt: skip
_PRUNE = sa.text("DELETE FROM send_slot WHERE at < :before").bindparams(
    sa.bindparam("before", type_=_WHEN)
)
PRUNE_EVERY = 500  # sends between clean-ups of slots that count for nothing any more
_sends = itertools.count()


def take_slot_in(
    conn: Connection, sender: str, settings: Settings, now: datetime | None = None
) -> None:
    """Record a send for ``sender`` in the caller's transaction, or raise QuotaWait saying
    how long to wait (the caller's transaction must then roll back)."""
    now = now or utcnow()
    window = timedelta(seconds=settings.mailbox_rate_seconds)
    day_start = datetime(now.year, now.month, now.day, tzinfo=UTC)
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK, {"sender": sender})
    conn.execute(_INSERT, {"sender": sender, "at": now})
    counts = conn.execute(
        _COUNT,
        {
            "sender": sender,
            "day_start": day_start,
            "window_start": now - window,
            "since": min(day_start, now - window),
        },
    ).one()
    today = counts.today or 0
    if today > settings.mailbox_daily_cap:  # raising rolls the slot back
        wait = day_start + timedelta(days=1) - now
        cap = settings.mailbox_daily_cap
        raise QuotaWait(f"waiting for mailbox quota: {cap} emails today", wait)
    if (counts.recent or 0) > settings.mailbox_rate_count:
        oldest = counts.oldest  # aware: the column is a UtcDateTime
        wait = max(oldest + window - now, timedelta(milliseconds=100))
        count, seconds = settings.mailbox_rate_count, settings.mailbox_rate_seconds
        raise QuotaWait(f"waiting for mailbox quota: {count} emails in {seconds:g} s", wait)
    if next(_sends) % PRUNE_EVERY == 0:  # keep the table small
        conn.execute(_PRUNE, {"before": day_start - timedelta(days=2)})


def as_retry(err: QuotaWait) -> ApplicationError:
    """The activity failure that makes Temporal try again after the wait."""
    return ApplicationError(err.reason, type="MailboxQuota", next_retry_delay=err.wait)
