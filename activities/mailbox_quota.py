"""Per-mailbox sending limits, enforced across every worker through the app database: a rate
(default 25 emails per 45 s) and a daily cap (default 1,000 per UTC day) per sender.

A send first takes a slot: in one transaction it records the slot and counts the sender's
slots in the window; over a limit, the transaction is rolled back and the activity retries
after the wait (Temporal's `next_retry_delay`), so the enrollment waits instead of failing.
SQLite serializes writers; on PostgreSQL a transaction-scoped advisory lock per sender does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import col
from temporalio.exceptions import ApplicationError

from cadence.config import Settings
from cadence.models import SendSlot, utcnow


class QuotaWait(Exception):
    def __init__(self, reason: str, wait: timedelta) -> None:
        super().__init__(reason)
        self.reason, self.wait = reason, wait


def take_slot_in(
    conn: Connection, sender: str, settings: Settings, now: datetime | None = None
) -> None:
    """Record a send for ``sender`` in the caller's transaction, or raise QuotaWait saying
    how long to wait (the caller's transaction must then roll back)."""
    now = now or utcnow()
    window = timedelta(seconds=settings.mailbox_rate_seconds)
    day_start = datetime(now.year, now.month, now.day, tzinfo=UTC)
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": sender})
    conn.execute(sa.insert(SendSlot).values(sender=sender, at=now))
    recent = conn.execute(
        sa.select(col(SendSlot.at))
        .where(col(SendSlot.sender) == sender, col(SendSlot.at) > now - window)
        .order_by(col(SendSlot.at))
    ).scalars().all()  # fmt: skip
    today = conn.execute(
        sa.select(sa.func.count()).where(
            col(SendSlot.sender) == sender, col(SendSlot.at) >= day_start
        )
    ).scalar_one()
    if today > settings.mailbox_daily_cap:  # raising rolls the slot back
        wait = day_start + timedelta(days=1) - now
        cap = settings.mailbox_daily_cap
        raise QuotaWait(f"waiting for mailbox quota: {cap} emails today", wait)
    if len(recent) > settings.mailbox_rate_count:
        oldest = recent[0] if recent[0].tzinfo else recent[0].replace(tzinfo=UTC)
        wait = max(oldest + window - now, timedelta(milliseconds=100))
        count, seconds = settings.mailbox_rate_count, settings.mailbox_rate_seconds
        raise QuotaWait(f"waiting for mailbox quota: {count} emails in {seconds:g} s", wait)
    conn.execute(  # keep the table small: slots older than two days count for nothing
        sa.delete(SendSlot).where(col(SendSlot.at) < day_start - timedelta(days=2))
    )


def as_retry(err: QuotaWait) -> ApplicationError:
    """The activity failure that makes Temporal try again after the wait."""
    return ApplicationError(err.reason, type="MailboxQuota", next_retry_delay=err.wait)
