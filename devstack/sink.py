"""The local SMTP sink: accepts every message on 127.0.0.1, keeps it in a Maildir (so it
survives restarts) and shows it over HTTP (an inbox page and a JSON API for tests).

Envelope sender and recipients are kept as ``X-Sink-Mail-From`` / ``X-Sink-Rcpt-To`` headers
on the stored copy, since Bcc recipients never appear in the message itself.
"""

from __future__ import annotations

import asyncio
import email.policy
import html
import logging
import mailbox
import threading
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from devstack.sink_forward import InboundForwarder

logger = logging.getLogger(__name__)
PARSER = BytesParser(policy=email.policy.default)


class MessageStore:
    """A Maildir of received messages, shared by the SMTP and HTTP sides (their threads).

    ``mailbox.Maildir`` is not thread-safe (a listing rebuilt in one thread is seen half-built
    in another), so every use holds a lock. An index of Message-IDs answers the Sent-folder
    check without parsing every message.
    """

    def __init__(self, maildir: Path) -> None:
        maildir.parent.mkdir(parents=True, exist_ok=True)
        self.box = mailbox.Maildir(maildir, create=True)
        self._lock = threading.Lock()
        self._by_id: dict[str, list[str]] | None = None

    def add(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> str:
        stamp = datetime.now(UTC).isoformat()
        head = (
            f"X-Sink-Mail-From: {mail_from}\r\nX-Sink-Rcpt-To: {', '.join(rcpt_tos)}\r\n"
            f"X-Sink-Received: {stamp}\r\n"
        ).encode()
        message_id = _message_id(PARSER.parsebytes(raw, headersonly=True))
        with self._lock:
            key: str = self.box.add(mailbox.MaildirMessage(head + raw))
            if self._by_id is not None:
                self._by_id.setdefault(message_id, []).append(key)
        return key

    def raw(self, key: str) -> bytes:
        try:
            with self._lock:
                return self.box.get_bytes(key)
        except KeyError as exc:
            raise HTTPException(404, detail=f"no message {key}") from exc

    def parsed(self, key: str) -> EmailMessage:
        msg = PARSER.parsebytes(self.raw(key))
        assert isinstance(msg, EmailMessage)
        return msg

    def message_keys(self) -> list[str]:
        with self._lock:
            return list(self.box.keys())

    def keys_for(self, message_id: str) -> list[str]:
        """The stored messages with this Message-ID (angle brackets optional)."""
        with self._lock:
            if self._by_id is None:
                self._by_id = {}
                for key in self.box.keys():  # noqa: SIM118 (iterating yields messages)
                    head = PARSER.parsebytes(self.box.get_bytes(key), headersonly=True)
                    self._by_id.setdefault(_message_id(head), []).append(key)
            return list(self._by_id.get(message_id.strip().strip("<>"), []))

    def remove(self, key: str | None = None) -> int:
        keys = [key] if key else self.message_keys()
        with self._lock:
            for k in keys:
                self.box.discard(k)
            self._by_id = None
        return len(keys)


def _message_id(msg: Any) -> str:
    return str(msg.get("Message-ID", "")).strip().strip("<>")


def summary(key: str, msg: EmailMessage) -> dict[str, Any]:
    """The JSON view of one message, bodies included."""
    text = msg.get_body(preferencelist=("plain",))
    rich = msg.get_body(preferencelist=("html",))
    return {
        "id": key,
        "received_at": msg.get("X-Sink-Received"),
        "mail_from": msg.get("X-Sink-Mail-From"),
        "rcpt_to": [r.strip() for r in str(msg.get("X-Sink-Rcpt-To", "")).split(",") if r.strip()],
        "from": msg.get("From"),
        "to": msg.get("To"),
        "subject": msg.get("Subject"),
        "message_id": msg.get("Message-ID"),
        "in_reply_to": msg.get("In-Reply-To"),
        "headers": {k: str(v) for k, v in msg.items() if not k.startswith("X-Sink-")},
        "text": text.get_content() if text is not None else None,
        "html": rich.get_content() if rich is not None else None,
    }


class SinkHandler:
    """aiosmtpd handler: store whatever arrives."""

    def __init__(self, store: MessageStore, forwarder: InboundForwarder | None = None) -> None:
        self.store = store
        self.forwarder = forwarder

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        key = await asyncio.to_thread(
            self.store.add, str(envelope.mail_from), list(envelope.rcpt_tos), raw
        )
        logger.info("stored %s for %s", key, envelope.rcpt_tos)
        if self.forwarder is not None:
            self.forwarder.submit(key)
        return "250 Message accepted for delivery"


def create_app(store: MessageStore) -> FastAPI:
    """The sink's web view and JSON API."""
    app = FastAPI(title="Cadence SMTP sink", docs_url=None, redoc_url=None)

    def matching(to: str | None, subject: str | None, message_id: str | None) -> list[Any]:
        found = []
        keys = store.keys_for(message_id) if message_id else store.message_keys()
        for key in keys:
            try:
                msg = store.parsed(key)
            except HTTPException:  # deleted meanwhile
                continue
            rcpts = f"{msg.get('To', '')} {msg.get('X-Sink-Rcpt-To', '')}".lower()
            if to and to.lower() not in rcpts:
                continue
            if subject and subject.lower() not in str(msg.get("Subject", "")).lower():
                continue
            if message_id and message_id.strip("<>") != str(msg.get("Message-ID", "")).strip("<>"):
                continue
            found.append(summary(key, msg))
        found.sort(key=lambda m: m["received_at"] or "")
        return found

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/messages")
    async def list_messages(
        to: str | None = Query(None, description="substring of To or an envelope recipient"),
        subject: str | None = Query(None, description="substring of the subject"),
        message_id: str | None = Query(None, description="exact Message-ID"),
    ) -> JSONResponse:
        items = await asyncio.to_thread(matching, to, subject, message_id)
        return JSONResponse({"count": len(items), "messages": items})

    @app.get("/api/messages/{key}")
    async def get_message(key: str) -> JSONResponse:
        return JSONResponse(summary(key, await asyncio.to_thread(store.parsed, key)))

    @app.get("/api/messages/{key}/raw")
    async def get_raw(key: str) -> Response:
        return Response(await asyncio.to_thread(store.raw, key), media_type="message/rfc822")

    @app.delete("/api/messages")
    async def delete_all() -> dict[str, int]:
        return {"deleted": await asyncio.to_thread(store.remove)}

    @app.delete("/api/messages/{key}")
    async def delete_one(key: str) -> dict[str, int]:
        store.raw(key)
        return {"deleted": await asyncio.to_thread(store.remove, key)}

    @app.get("/", response_class=HTMLResponse)
    async def inbox() -> str:
        items = await asyncio.to_thread(matching, None, None, None)
        rows = "".join(
            f"<tr><td>{html.escape(m['received_at'] or '')}</td>"
            f"<td>{html.escape(str(m['to']))}</td>"
            f"<td><a href='/api/messages/{m['id']}'>{html.escape(str(m['subject']))}</a></td>"
            f"<td><pre>{html.escape((m['text'] or '')[:400])}</pre></td></tr>"
            for m in reversed(items)
        )
        return (
            "<!doctype html><title>Cadence SMTP sink</title>"
            "<style>body{font-family:sans-serif}td{vertical-align:top;padding:4px 8px;"
            "border-bottom:1px solid #ddd}pre{white-space:pre-wrap;margin:0}</style>"
            f"<h1>SMTP sink</h1><p>{len(items)} message(s)</p>"
            "<table><tr><th>Received</th><th>To</th><th>Subject</th><th>Text</th></tr>"
            f"{rows}</table>"
        )

    return app


async def serve(
    maildir: Path,
    smtp_port: int,
    http_port: int,
    host: str = "127.0.0.1",
    inbound_api: str | None = None,
    inbound_token: str | None = None,
    inbound_transport: httpx.AsyncBaseTransport | None = None,  # tests: the API in-process
) -> None:
    """Run the SMTP listener and the web view until cancelled. With ``inbound_api`` and its
    token, mail addressed to our mailboxes is also handed to the API's inbound intake."""
    import uvicorn

    store = MessageStore(maildir)
    loop = asyncio.get_running_loop()
    forwarder, background = None, set()
    if inbound_api and inbound_token:
        handled = maildir.parent / f"{maildir.name}.forwarded"
        forwarder = InboundForwarder(store, inbound_api, inbound_token, handled, inbound_transport)
        background.add(asyncio.create_task(forwarder.run()))
    handler = SinkHandler(store, forwarder)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="cadence-sink", ident="Cadence SMTP sink"),
        host=host,
        port=smtp_port,
    )
    logger.info("SMTP sink on %s:%s, web on http://%s:%s", host, smtp_port, host, http_port)
    web = uvicorn.Server(
        uvicorn.Config(
            create_app(store), host=host, port=http_port, log_level="warning", lifespan="off"
        )
    )
    try:
        await web.serve()
    finally:
        server.close()
        await server.wait_closed()
