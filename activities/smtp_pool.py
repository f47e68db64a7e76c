"""Reused SMTP connections: connecting, greeting and quitting per message costs more than the
message itself, so each worker process keeps a few logged-in connections open.

Blocking (``smtplib``): `send_email` is a synchronous activity that runs on the SMTP worker's
thread pool, so one thread does the whole send (database read, SMTP, database write) while the
event loop stays free for workflows.

A connection serves one send at a time, is reused only while it has been idle for less than
``MAX_IDLE_S`` (servers drop idle clients), and is discarded after any error. A send is never
retried here, so a failure mid-DATA cannot become a second copy behind the activity's back;
Temporal's retry policy decides.
"""

from __future__ import annotations

import smtplib
import ssl
import threading
import time
from email.message import Message

from cadence.config import Settings

MAX_IDLE_S = 30.0
TIMEOUT_S = 60.0


class SmtpPool:
    def __init__(self, settings: Settings, size: int) -> None:
        self.settings = settings
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[tuple[smtplib.SMTP, float]] = []

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        conn: smtplib.SMTP
        if s.smtp_tls:
            conn = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=TIMEOUT_S, context=ssl.create_default_context()
            )
        else:
            conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=TIMEOUT_S)
            if s.smtp_starttls:
                conn.starttls(context=ssl.create_default_context())
        if s.smtp_username and s.smtp_password:
            conn.login(s.smtp_username, s.smtp_password.get_secret_value())
        return conn

    def _take_idle(self) -> smtplib.SMTP | None:
        with self._lock:
            while self._idle:
                conn, since = self._idle.pop()
                if time.monotonic() - since < MAX_IDLE_S:
                    return conn
                _close(conn)
        return None

    def send(self, message: Message) -> None:
        """Send one message; raises smtplib errors (the connection is then dropped)."""
        with self._slots:
            conn = self._take_idle() or self._connect()
            try:
                conn.send_message(message)
            except BaseException:
                _close(conn)
                raise
            with self._lock:
                self._idle.append((conn, time.monotonic()))


def _close(conn: smtplib.SMTP) -> None:
    try:
        conn.close()
    except OSError:
        pass


_pools: dict[tuple[str, int, str | None], SmtpPool] = {}
_pools_lock = threading.Lock()


def pool_for(settings: Settings, size: int = 8) -> SmtpPool:
    """The process's pool for these SMTP settings."""
    key = (settings.smtp_host, settings.smtp_port, settings.smtp_username)
    with _pools_lock:
        if key not in _pools:
            _pools[key] = SmtpPool(settings, size)
        return _pools[key]
