"""Did the mailbox send this message? Asked only after an attempt died mid-send.

SMTP cannot say whether an interrupted transaction was kept, but mail services that accept
submission (Gmail, Microsoft 365, most hosted mailboxes) file every message they send in the
Sent folder, and our Message-IDs are deterministic. So a retry that finds an unfinished send
looks the Message-ID up there: IMAP ``SEARCH HEADER Message-ID`` in the configured folder, or
the local sink's HTTP API in the dev stack.
"""

from __future__ import annotations

import imaplib
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

import httpx

from cadence.core.config import Mailbox

TIMEOUT_S = 20.0

SentCheck = Callable[[str], bool]


class SentCheckError(Exception):
    """The check could not be made (the retry waits and asks again)."""


def sent_check_for(mailbox: Mailbox) -> SentCheck | None:
    """A function telling whether a Message-ID was sent, or None when none is configured."""
    url = mailbox.sent_check_url
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        return lambda message_id: _http_has(url, message_id)
    if parts.scheme in ("imap", "imaps"):
        password = mailbox.sent_check_password or mailbox.password
        username = unquote(parts.username) if parts.username else mailbox.username
        folder = unquote(parts.path.lstrip("/")) or "Sent"
        secret = password.get_secret_value() if password else None

        def imap_has(message_id: str) -> bool:
            return _imap_has(
                parts.scheme == "imaps", parts.hostname or "", parts.port, username, secret,
                folder, message_id,
            )  # fmt: skip

        return imap_has
    raise ValueError(f"sent_check_url must be imap(s):// or http(s)://, not {parts.scheme}://")


def _http_has(url: str, message_id: str) -> bool:
    try:
        answer = httpx.get(url, params={"message_id": message_id}, timeout=TIMEOUT_S)
        answer.raise_for_status()
        return int(answer.json()["count"]) > 0
    except (httpx.HTTPError, KeyError, ValueError) as err:
        raise SentCheckError(f"sent check at {url} failed: {err}") from err


def _imap_has(
    tls: bool,
    host: str,
    port: int | None,
    username: str | None,
    password: str | None,
    folder: str,
    message_id: str,
) -> bool:
    try:
        conn: imaplib.IMAP4
        if tls:
            conn = imaplib.IMAP4_SSL(host, port or 993, timeout=TIMEOUT_S)
        else:
            conn = imaplib.IMAP4(host, port or 143, timeout=TIMEOUT_S)
        try:
            if username and password:
                conn.login(username, password)
            status, _ = conn.select(_quoted(folder), readonly=True)
            if status != "OK":
                raise SentCheckError(f"no folder {folder!r} on {host}")
            status, data = conn.search(None, "HEADER", "Message-ID", _quoted(message_id))
            if status != "OK":
                raise SentCheckError(f"IMAP search failed on {host}: {data!r}")
            return bool(data and data[0] and data[0].split())
        finally:
            try:
                conn.logout()
            except (OSError, imaplib.IMAP4.error):
                pass
    except (OSError, imaplib.IMAP4.error) as err:
        raise SentCheckError(f"sent check on {host} failed: {err}") from err


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
