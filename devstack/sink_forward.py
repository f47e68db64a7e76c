"""The local sink's hand-off of replies: mail addressed to one of our mailboxes (a user or a
configured mailbox, as ``GET /inbound/mailboxes`` lists them) goes to ``POST /inbound/email``,
the same intake a mail provider uses, so a person can answer a campaign email locally.

Every stored key is handled once: forwarded, or found not to be ours. The handled keys are
appended to a file beside the Maildir, so a restart resumes with what was left, and a
message that arrives while the API is down is forwarded when it is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from email.utils import getaddresses
from pathlib import Path
from typing import Protocol

import httpx
from fastapi import HTTPException

logger = logging.getLogger(__name__)
ADDRESSES_TTL_S = 5.0
RETRY_S = (0.5, 1, 2, 5, 10, 30)


class Store(Protocol):
    def raw(self, key: str) -> bytes: ...
    def message_keys(self) -> list[str]: ...


def envelope(raw: bytes) -> tuple[str, list[str]]:
    """The envelope sender and recipients the sink kept in its X-Sink-* headers."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("utf-8", "replace")
    mail_from, rcpts = "", ""
    for line in head.splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "x-sink-mail-from":
            mail_from = value.strip()
        elif name.lower() == "x-sink-rcpt-to":
            rcpts = value.strip()
    recipients = [addr.lower() for _, addr in getaddresses([rcpts]) if addr]
    return mail_from.lower(), recipients


def without_sink_headers(raw: bytes) -> bytes:
    """The message as its sender wrote it (the sink prepends its X-Sink-* lines)."""
    rest = raw
    while rest[:7].lower() == b"x-sink-":
        rest = rest.split(b"\n", 1)[1] if b"\n" in rest else b""
    return rest


class InboundForwarder:
    def __init__(
        self,
        store: Store,
        api_url: str,
        token: str,
        handled_file: Path,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.transport = transport
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.handled_file = handled_file
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self._addresses: set[str] = set()
        self._fetched_at = 0.0

    def handled(self) -> set[str]:
        if not self.handled_file.exists():
            return set()
        return set(self.handled_file.read_text().split())

    def _mark(self, key: str) -> None:
        with self.handled_file.open("a") as out:
            out.write(key + "\n")

    def submit(self, key: str) -> None:
        self.queue.put_nowait(key)

    async def _ours(self, client: httpx.AsyncClient) -> set[str]:
        if time.monotonic() - self._fetched_at > ADDRESSES_TTL_S:
            answer = await client.get(f"{self.api_url}/inbound/mailboxes")
            answer.raise_for_status()
            self._addresses = set(answer.json()["addresses"])
            self._fetched_at = time.monotonic()
        return self._addresses

    async def forward(self, client: httpx.AsyncClient, key: str) -> None:
        """Hand one stored message to the intake if it is addressed to us (raises to retry)."""
        try:
            raw = await asyncio.to_thread(self.store.raw, key)
        except HTTPException:  # deleted from the sink meanwhile
            return
        mail_from, rcpts = envelope(raw)
        ours = await self._ours(client)
        mailbox = next((r for r in rcpts if r in ours), None)
        if mailbox is not None and mail_from not in ours:  # ours to ours is our own sending
            answer = await client.post(
                f"{self.api_url}/inbound/email",
                params={"mailbox": mailbox},
                content=without_sink_headers(raw),
                headers={"Content-Type": "message/rfc822"},
            )
            if answer.status_code == 422:
                logger.warning("intake refused %s: %s", key, answer.text)
            else:
                answer.raise_for_status()
                logger.info("handed %s to the inbound intake (%s)", key, mailbox)
        await asyncio.to_thread(self._mark, key)

    async def run(self) -> None:
        """Forward what was left from before, then each new message, retrying while the
        API is away."""
        handled = await asyncio.to_thread(self.handled)
        for key in await asyncio.to_thread(self.store.message_keys):
            if key not in handled:
                self.submit(key)
        headers = {"Authorization": f"Bearer {self.token}"}
        async with httpx.AsyncClient(
            headers=headers, timeout=30, transport=self.transport
        ) as client:
            while True:
                key = await self.queue.get()
                for attempt, pause in enumerate((*RETRY_S, *([RETRY_S[-1]] * 100))):
                    try:
                        await self.forward(client, key)
                        break
                    except (httpx.HTTPError, ValueError) as err:
                        if attempt == 0:
                            logger.info("intake not reachable for %s (%s); retrying", key, err)
                        await asyncio.sleep(pause)
