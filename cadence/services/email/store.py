"""The database side of a send, as few statements as it can be: this runs for every email.

Statements are written once (SQL text with typed parameters, valid on SQLite and PostgreSQL):
building SQLAlchemy expressions per call cost more than running them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cadence.core.models import EmailMessage, UtcDateTime

_WHEN = UtcDateTime()

# The person, the sender's signature, what became of this Message-ID, and the guards.
_READ = sa.text(
    """
    SELECT p.id, p.email, p.unsubscribed, p.marketo_id, p.first_name, p.last_name, p.company,
           p.title, p.phone,
           (SELECT u.signature FROM "user" u WHERE u.id = :owner_id) AS signature,
           (SELECT m.status FROM emailmessage m WHERE m.message_id = :message_id) AS existing,
           (EXISTS (SELECT 1 FROM emailmessage b
                    WHERE b.recipient = p.email AND b.status = 'bounced')
            OR EXISTS (SELECT 1 FROM invalid_address i
                       WHERE i.address = lower(p.email))) AS bounced_before,
           (SELECT d.domain FROM blocked_domain d
            WHERE lower(p.email) LIKE '%@' || d.domain LIMIT 1) AS blocked_domain
    FROM person p WHERE p.id = :person_id
    """
)

_EARLIER = sa.text(
    "SELECT status, subject, sent_at, lease_until, recipient FROM emailmessage "
    "WHERE message_id = :message_id"
).columns(
    sa.column("status", sa.String),
    sa.column("subject", sa.String),
    sa.column("sent_at", _WHEN),
    sa.column("lease_until", _WHEN),
    sa.column("recipient", sa.String),
)

_COLUMNS = (
    "message_id", "enrollment_id", "step_id", "person_id", "sender", "recipient", "subject",
    "body_text", "status", "sent_at", "lease_until", "cc", "bcc", "attachment_ids", "template",
)  # fmt: skip
_TYPED = (
    sa.bindparam("sent_at", type_=_WHEN),
    sa.bindparam("lease_until", type_=_WHEN),
    sa.bindparam("cc", type_=sa.JSON),
    sa.bindparam("bcc", type_=sa.JSON),
    sa.bindparam("attachment_ids", type_=sa.JSON),
)
_CLAIM = sa.text(
    f"INSERT INTO emailmessage ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _COLUMNS)})"
).bindparams(*_TYPED)
_TAKE_OVER = sa.text(
    "UPDATE emailmessage SET "
    + ", ".join(f"{c} = :{c}" for c in _COLUMNS if c != "message_id")
    + " WHERE message_id = :message_id AND status IN ('sending', 'unsent')"
).bindparams(*_TYPED)
_SETTLE = sa.text(
    "UPDATE emailmessage SET status = :status, sent_at = :sent_at, lease_until = NULL "
    "WHERE message_id = :message_id"
).bindparams(sa.bindparam("sent_at", type_=_WHEN))
_RELEASE = sa.text(
    "UPDATE emailmessage SET status = 'unsent', lease_until = NULL "
    "WHERE message_id = :message_id AND status = 'sending'"
)
_PREVIOUS = sa.text("SELECT subject, message_id FROM emailmessage WHERE message_id = :message_id")


@dataclass
class Earlier:
    """What an earlier attempt left for this Message-ID."""

    status: str
    subject: str
    sent_at: datetime | None
    lease_until: datetime | None
    recipient: str


def read_for_send(
    conn: Connection, *, person_id: int, owner_id: int, message_id: str
) -> sa.Row[Any] | None:
    """One row: the person's fields, ``signature``, ``existing`` (this message's status),
    ``bounced_before`` and ``blocked_domain``; None if there is no such person."""
    return conn.execute(
        _READ, {"person_id": person_id, "owner_id": owner_id, "message_id": message_id}
    ).first()


def earlier_attempt(conn: Connection, message_id: str) -> Earlier | None:
    row = conn.execute(_EARLIER, {"message_id": message_id}).first()
    return Earlier(*row) if row is not None else None


def previous_message(conn: Connection, message_id: str) -> sa.Row[Any] | None:
    """The email a follow-up replies to (its subject and Message-ID)."""
    return conn.execute(_PREVIOUS, {"message_id": message_id}).first()


def claim(conn: Connection, draft: EmailMessage, take_over: bool) -> bool:
    """Write the ``sending`` row (or take over one an attempt left unsent or expired)."""
    values = {c: getattr(draft, c) for c in _COLUMNS}
    result = conn.execute(_TAKE_OVER if take_over else _CLAIM, values)
    return bool(result.rowcount)


def settle(conn: Connection, message_id: str, status: str, at: datetime) -> None:
    conn.execute(_SETTLE, {"message_id": message_id, "status": status, "sent_at": at})


def release(conn: Connection, message_id: str) -> None:
    conn.execute(_RELEASE, {"message_id": message_id})
