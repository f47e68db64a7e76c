"""The SMTP sink stores what real SMTP clients send and shows it over HTTP, across restarts."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx

from devstack.sink import MessageStore, create_app, serve
from tests.utils.net import free_port


def message(to: str, subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Rep <rep@cadence.test>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{subject.replace(' ', '-')}@cadence.test>"
    msg.set_content(f"Body of {subject}")
    msg.add_alternative(f"<p>Body of {subject}</p>", subtype="html")
    return msg


async def wait_http(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(100):
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError(url)


async def test_smtp_messages_are_stored_and_listed(tmp_path: Path) -> None:
    smtp_port, http_port = free_port(), free_port()
    server = asyncio.create_task(serve(tmp_path / "mail", smtp_port, http_port))
    try:
        await wait_http(f"http://127.0.0.1:{http_port}/health")
        await aiosmtplib.send(message("ada@example.com", "Hello Ada"), port=smtp_port,
                              hostname="127.0.0.1", recipients=["ada@example.com",
                                                               "bcc@cadence.test"])  # fmt: skip
        await aiosmtplib.send(message("bob@example.com", "Hi Bob"), port=smtp_port,
                              hostname="127.0.0.1")  # fmt: skip
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as http:
            everything = (await http.get("/api/messages")).json()
            assert everything["count"] == 2
            ada = (await http.get("/api/messages", params={"to": "ADA@example.com"})).json()
            assert [m["subject"] for m in ada["messages"]] == ["Hello Ada"]
            first = ada["messages"][0]
            assert first["rcpt_to"] == ["ada@example.com", "bcc@cadence.test"]
            assert first["text"].strip() == "Body of Hello Ada"
            assert "<p>Body of Hello Ada</p>" in first["html"]
            by_id = await http.get("/api/messages", params={"message_id": "Hi-Bob@cadence.test"})
            assert by_id.json()["messages"][0]["to"] == "bob@example.com"
            raw = await http.get(f"/api/messages/{first['id']}/raw")
            assert b"Subject: Hello Ada" in raw.content
            page = await http.get("/")
            assert "Hello Ada" in page.text and "Hi Bob" in page.text
    finally:
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)


async def test_messages_survive_a_restart_and_can_be_deleted(tmp_path: Path) -> None:
    MessageStore(tmp_path / "mail").add(
        "a@x.test", ["b@y.test"], bytes(message("b@y.test", "Kept"))
    )
    app = create_app(MessageStore(tmp_path / "mail"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as h:
        listed = (await h.get("/api/messages")).json()
        assert [m["subject"] for m in listed["messages"]] == ["Kept"]
        assert (await h.get("/api/messages/nope")).status_code == 404
        assert (await h.delete("/api/messages")).json() == {"deleted": 1}
        assert (await h.get("/api/messages")).json()["count"] == 0
