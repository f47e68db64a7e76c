"""Reused SMTP connections and a send with a commit point.

Connecting, greeting and quitting per message costs more than the message itself, so each
worker process keeps a few logged-in connections open per mailbox. Blocking (``smtplib``):
`send_email` is a synchronous activity that runs on the SMTP worker's thread pool, so one
thread does the whole send (database read, SMTP, database write) while the event loop stays
free for workflows.

The SMTP transaction is driven by hand so that it has a commit point: the whole message is
transmitted first and the final ``.`` goes only if the caller's deadline has not passed. A
server keeps a message only once it has that dot, so every failure before it is
`NotDelivered` (another attempt may send again), and only a failure after it (the reply lost
with the connection) is ambiguous. A send is never retried here; Temporal's retry policy
decides.

A connection serves one send at a time, is reused only while it has been idle for less than
``MAX_IDLE_S`` (servers drop idle clients), and is discarded after any error.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import threading
import time
from email import policy
from email.generator import BytesGenerator
from email.message import Message
from io import BytesIO

from cadence.core.config import Mailbox

MAX_IDLE_S = 30.0
TIMEOUT_S = 30.0
_CRLF_POLICY = policy.compat32.clone(linesep="\r\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


class NotDelivered(Exception):
    """The server did not keep the message: sending it again cannot make a second copy."""

    def __init__(self, reason: str, *, permanent: bool = False, reusable: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.reusable = reusable  # the connection is still in a clean state


class DeliveryUnknown(Exception):
    """The connection failed after the final dot: the server may or may not have the message."""


def wire_bytes(message: Message) -> bytes:
    """The message as DATA carries it: CRLF line ends, leading dots doubled, CRLF at the end."""
    out = BytesIO()
    BytesGenerator(out, policy=_CRLF_POLICY).flatten(message, linesep="\r\n")
    data = _LEADING_DOT.sub(b"..", out.getvalue())
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def _transmit(
    conn: smtplib.SMTP,
    sender: str,
    to: str,
    others: list[str],
    data: bytes,
    commit_by: float | None,
) -> dict[str, tuple[int, bytes]]:
    """One SMTP transaction; returns the refused copies (Cc/Bcc) by address."""
    conn.ehlo_or_helo_if_needed()
    code, reply = conn.mail(sender)
    if code != 250:
        conn.rset()
        raise NotDelivered(
            f"sender refused: {code} {reply!r}", permanent=code >= 500, reusable=True
        )
    code, reply = conn.rcpt(to)
    if code not in (250, 251):
        conn.rset()
        raise NotDelivered(
            f"recipient {to} refused: {code} {reply!r}", permanent=code >= 500, reusable=True
        )
    refused: dict[str, tuple[int, bytes]] = {}
    for address in others:
        code, reply = conn.rcpt(address)
        if code not in (250, 251):
            refused[address] = (code, reply)
    code, reply = conn.docmd("DATA")
    if code != 354:
        conn.rset()
        raise NotDelivered(f"DATA refused: {code} {reply!r}", permanent=code >= 500, reusable=True)
    conn.send(data)
    if commit_by is not None and time.time() > commit_by:
        raise NotDelivered("the send's lease ran out before the end of the message")
    try:
        conn.send(b".\r\n")  # the commit point: from here on the outcome may be unknown
        code, reply = conn.getreply()
    except (OSError, smtplib.SMTPException) as err:
        raise DeliveryUnknown(f"connection lost after the end of the message: {err}") from err
    if code != 250:
        raise NotDelivered(f"message refused: {code} {reply!r}", permanent=code >= 500)
    return refused


class SmtpPool:
    def __init__(self, mailbox: Mailbox, size: int) -> None:
        self.mailbox = mailbox
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[tuple[smtplib.SMTP, float]] = []

    def _connect(self) -> smtplib.SMTP:
        box = self.mailbox
        if not box.host:
            raise OSError("no SMTP server configured")
        conn: smtplib.SMTP
        context = (
            ssl.create_default_context(cafile=box.ca_file) if box.tls or box.starttls else None
        )
        if box.tls:
            conn = smtplib.SMTP_SSL(box.host, box.port, timeout=TIMEOUT_S, context=context)
        else:
            conn = smtplib.SMTP(box.host, box.port, timeout=TIMEOUT_S)
            if box.starttls:
                conn.starttls(context=context)
        if box.username and box.password:
            conn.login(box.username, box.password.get_secret_value())
        if conn.sock is not None:  # the final dot is a small write after a big one: no Nagle
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def _take_idle(self) -> smtplib.SMTP | None:
        with self._lock:
            while self._idle:
                conn, since = self._idle.pop()
                if time.monotonic() - since < MAX_IDLE_S:
                    return conn
                _close(conn)
        return None

    def send(
        self,
        message: Message,
        *,
        sender: str,
        to: str,
        others: list[str] | None = None,
        commit_by: float | None = None,
    ) -> dict[str, tuple[int, bytes]]:
        """Send one message to ``to`` and ``others`` (Cc and Bcc; Bcc is never a header).

        The final dot goes only before ``commit_by`` (epoch seconds). Raises `NotDelivered`
        when the server surely did not keep the message and `DeliveryUnknown` when the
        connection failed after the dot. Returns the Cc/Bcc addresses the server refused."""
        data = wire_bytes(message)
        with self._slots:
            for fresh in (False, True):  # a reused connection the server dropped: once more
                conn = None if fresh else self._take_idle()
                reused = conn is not None
                try:
                    conn = conn or self._connect()
                except (OSError, smtplib.SMTPException) as err:
                    raise NotDelivered(f"cannot reach the SMTP server: {err}") from err
                try:
                    refused = _transmit(conn, sender, to, others or [], data, commit_by)
                except NotDelivered as err:
                    self._keep(conn) if err.reusable else _close(conn)
                    raise
                except (smtplib.SMTPServerDisconnected, ConnectionError) as err:
                    _close(conn)
                    if reused:
                        continue
                    raise NotDelivered(f"SMTP failed before the end of the message: {err}") from err
                except (OSError, smtplib.SMTPException) as err:
                    _close(conn)
                    raise NotDelivered(f"SMTP failed before the end of the message: {err}") from err
                except BaseException:
                    _close(conn)
                    raise
                self._keep(conn)
                return refused
            raise AssertionError("unreachable")

    def _keep(self, conn: smtplib.SMTP) -> None:
        with self._lock:
            self._idle.append((conn, time.monotonic()))


def _close(conn: smtplib.SMTP) -> None:
    try:
        conn.close()
    except OSError:
        pass


_pools: dict[tuple[object, ...], SmtpPool] = {}
_pools_lock = threading.Lock()


def pool_for(mailbox: Mailbox, size: int = 8) -> SmtpPool:
    """The process's pool for this mailbox (a changed login or TLS setting is another pool)."""
    secret = mailbox.password.get_secret_value() if mailbox.password else None
    key = (mailbox.host, mailbox.port, mailbox.username, secret, mailbox.tls, mailbox.starttls,
           mailbox.ca_file)  # fmt: skip
    with _pools_lock:
        if key not in _pools:
            _pools[key] = SmtpPool(mailbox, size)
        return _pools[key]
