"""Inbound mail through the API intake, and an enrollment waiting for a reply."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.utils.api import Api
from tests.utils.factories import PLAYBOOK

TOKEN = "inbound-test-token"


async def post_mail(api: Api, raw: str | bytes, **params: str) -> httpx.Response:
    body = raw.encode() if isinstance(raw, str) else raw
    return await api.http.post(
        "/inbound/email",
        content=body,
        params=params,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "message/rfc822"},
    )


async def enroll_and_wait_for_first_email(api: Api, playbook: str = PLAYBOOK) -> tuple[int, str]:
    """Enroll Ada; return the enrollment id and the Message-ID of the email she got."""
    created = await api.call("POST", "/campaigns", role="author", content=playbook,
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    url = f"/campaigns/{created.json()['id']}/enrollments"
    enrolled = await api.call("POST", url, role="rep", json={"emails": ["ada@example.com"]})
    enrollment_id = enrolled.json()["results"][0]["enrollment_id"]
    mail: dict[str, Any] = {"count": 0}
    async with httpx.AsyncClient(base_url=api.sink) as sink:
        for _ in range(1200):
            mail = (await sink.get("/api/messages", params={"to": "ada@example.com"})).json()
            if mail["count"]:
                break
            await asyncio.sleep(0.05)
    assert mail["count"] == 1
    return enrollment_id, mail["messages"][-1]["message_id"]


async def processed(api: Api, inbound_id: int) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for _ in range(1200):
        item = (await api.call("GET", f"/inbound/{inbound_id}")).json()
        if item["processed_at"]:
            return item
        await asyncio.sleep(0.05)
    raise AssertionError(f"inbound {inbound_id} not processed: {item}")
