"""Reused SMTP connections: connecting, greeting and quitting per message costs more than the
message itself, so each worker keeps a few authenticated connections open.

A connection is used by one send at a time, reused only while it has been idle for less than
``MAX_IDLE_S`` (servers drop idle clients after a while), and discarded after any error; the
send is never retried here, so a failure mid-DATA cannot turn into a second copy behind the
activity's back (Temporal's retry policy decides).
"""

from __future__ import annotations

import asyncio
import time
from email.message import EmailMessage

import aiosmtplib

from cadence.config import Settings

MAX_IDLE_S = 30.0


class SmtpPool:
    def __init__(self, settings: Settings, size: int) -> None:
        self.settings = settings
        self._gate = asyncio.Semaphore(size)
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        conn = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.smtp_tls,
            start_tls=s.smtp_starttls,
            timeout=60,
        )
        await conn.connect()
        if s.smtp_username and s.smtp_password:
            await conn.login(s.smtp_username, s.smtp_password.get_secret_value())
        return conn

    def _take_idle(self) -> aiosmtplib.SMTP | None:
        while self._idle:
            conn, since = self._idle.pop()
            if conn.is_connected and time.monotonic() - since < MAX_IDLE_S:
                return conn
            conn.close()
        return None

    async def send(self, message: EmailMessage) -> None:
        async with self._gate:
            conn = self._take_idle() or await self._connect()
            try:
                await conn.send_message(message)
            except BaseException:
                conn.close()
                raise
            self._idle.append((conn, time.monotonic()))


_pools: dict[tuple[int, str, int, str | None], SmtpPool] = {}


def pool_for(settings: Settings, size: int = 8) -> SmtpPool:
    """The pool for these settings on the running event loop."""
    key = (
        id(asyncio.get_running_loop()),
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_username,
    )
    if key not in _pools:
        _pools[key] = SmtpPool(settings, size)
    return _pools[key]
