"""Inbound mail from IMAP inboxes: each poll fetches what arrived since the last one (UID
above the cursor) and stores it (cadence/services/inbound.py processes it after)."""

from __future__ import annotations

import re
import ssl
from urllib.parse import unquote, urlsplit

import aioimaplib
from temporalio.exceptions import ApplicationError

from cadence.core.config import Mailbox, get_settings
from cadence.core.db import run_db, session_scope
from cadence.domain.contracts import InboundMailInput, MailboxPollInput, MailboxPollResult
from cadence.services import Heartbeat, no_heartbeat
from cadence.services.inbound import store

FETCH_BATCH = 200  # messages per poll; the next poll continues where this one stopped
TIMEOUT_S = 30.0
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)", re.I)
_LITERAL = re.compile(rb"\{(\d+)\}$")


class InboxConfig:
    """Where a mailbox's incoming mail is read: ``imaps://user@host:993/INBOX``."""

    def __init__(self, address: str, mailbox: Mailbox) -> None:
        if not mailbox.inbox_url:
            raise ApplicationError(f"mailbox {address} has no inbox_url", type="NotConfigured",
                                   non_retryable=True)  # fmt: skip
        parts = urlsplit(mailbox.inbox_url)
        if parts.scheme not in ("imap", "imaps"):
            raise ApplicationError(f"inbox_url of {address} must be imap:// or imaps://",
                                   type="NotConfigured", non_retryable=True)  # fmt: skip
        self.tls = parts.scheme == "imaps"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (993 if self.tls else 143)
        self.username = unquote(parts.username) if parts.username else mailbox.username
        password = mailbox.inbox_password or mailbox.password
        self.password = password.get_secret_value() if password else None
        self.folder = unquote(parts.path.lstrip("/")) or "INBOX"
        self.ca_file = mailbox.ca_file


def _fetched_bytes(lines: list[bytes | bytearray]) -> bytes | None:
    """The message literal in a UID FETCH answer (the line after ``{n}``)."""
    for i, line in enumerate(lines[:-1]):
        if isinstance(line, bytes | bytearray) and _LITERAL.search(bytes(line).rstrip()):
            return bytes(lines[i + 1])
    return None


def _store(raw: bytes, address: str) -> tuple[InboundMailInput, bool]:
    with session_scope() as session:
        return store(session, raw, "imap", address)


class MailboxReader:
    """Reads the mailboxes' new mail over IMAP into inbound storage."""

    async def poll(
        self, inp: MailboxPollInput, heartbeat: Heartbeat = no_heartbeat
    ) -> MailboxPollResult:
        """Fetch and store the messages that arrived since the last poll (UID above the
        cursor). A new UIDVALIDITY means the server renumbered the folder: everything is read
        again, and storage drops what it already has. Messages are left unread on the server;
        heartbeats the last UID read."""
        return await _poll(inp, heartbeat)


async def _poll(inp: MailboxPollInput, heartbeat: Heartbeat) -> MailboxPollResult:
    settings = get_settings()
    mailbox = settings.inboxes().get(inp.mailbox.lower())
    if mailbox is None:
        raise ApplicationError(f"no inbox for {inp.mailbox}: give it an inbox_url in "
                               "CADENCE_MAILBOXES (or CADENCE_INBOX_URL for the team's)",
                               type="NotConfigured", non_retryable=True)  # fmt: skip
    cfg = InboxConfig(inp.mailbox, mailbox)
    client: aioimaplib.IMAP4
    if cfg.tls:
        context = ssl.create_default_context(cafile=cfg.ca_file)
        client = aioimaplib.IMAP4_SSL(cfg.host, cfg.port, ssl_context=context, timeout=TIMEOUT_S)
    else:
        client = aioimaplib.IMAP4(cfg.host, cfg.port, timeout=TIMEOUT_S)
    try:
        await client.wait_hello_from_server()
        if cfg.username and cfg.password:
            answer = await client.login(cfg.username, cfg.password)
            if answer.result != "OK":
                raise ApplicationError(f"IMAP login to {cfg.host} refused", type="LoginRefused")
        answer = await client.select(cfg.folder)
        if answer.result != "OK":
            raise ApplicationError(f"no folder {cfg.folder!r} on {cfg.host}")
        found = _UIDVALIDITY.search(b" ".join(bytes(x) for x in answer.lines))
        validity = int(found.group(1)) if found else None
        last_uid = inp.last_uid if validity == inp.uidvalidity else 0
        answer = await client.uid_search(f"UID {last_uid + 1}:*", charset=None)
        if answer.result != "OK":
            raise ApplicationError(f"IMAP search failed on {cfg.host}")
        uids = sorted(
            int(x) for line in answer.lines[:1] for x in bytes(line).split() if x.isdigit()
        )
        uids = [u for u in uids if u > last_uid][:FETCH_BATCH]  # "n:*" includes the last one
        stored: list[InboundMailInput] = []
        for uid in uids:
            answer = await client.uid("fetch", str(uid), "(BODY.PEEK[])")
            raw = _fetched_bytes(answer.lines) if answer.result == "OK" else None
            if raw is not None:
                message, _ = await run_db(_store, raw, inp.mailbox)
                stored.append(message)  # new or not: processing is idempotent
            last_uid = uid
            heartbeat(last_uid)
        return MailboxPollResult(uidvalidity=validity, last_uid=last_uid, stored=stored)
    except (OSError, TimeoutError, aioimaplib.Abort, aioimaplib.CommandTimeout) as err:
        raise ApplicationError(f"IMAP {cfg.host}:{cfg.port}: {err}", type="ImapError") from err
    finally:
        try:
            await client.logout()
        except Exception:  # the connection may be gone already
            pass
