"""Mailbox quotas hold across workers: sends over the rate wait (and then go), never fail."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from cadence.core.config import get_settings
from cadence.core.db import get_engine
from cadence.core.models import Person, SendSlot
from tests.utils.api import Api, unique_person_id
from worker import smtp_worker

MANY = """\
name: One each
settings: {skip_weekends: false, holidays: "off", send_window: {start: "00:00", end: "23:59"}}
steps:
  - {id: intro, day: 1, type: auto_email, send_at: immediately, subject: "Hi {{first_name}}",
     body: Hello}
"""


@pytest.fixture(autouse=True)
def tight_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENCE_MAILBOX_RATE_COUNT", "2")
    monkeypatch.setenv("CADENCE_MAILBOX_RATE_SECONDS", "2")
    get_settings.cache_clear()


async def test_a_mailbox_rate_holds_across_two_workers(
    api: Api, dev_env: WorkflowEnvironment
) -> None:
    with Session(get_engine()) as session:
        session.add_all(
            Person(id=unique_person_id(), email=f"p{i}@example.com", first_name=f"P{i}")
            for i in range(6)
        )
        session.commit()
    created = await api.call("POST", "/campaigns", role="author", content=MANY,
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    url = f"/campaigns/{created.json()['id']}/enrollments"
    emails = [f"p{i}@example.com" for i in range(6)]
    other = await Client.connect(  # a second worker, as another process would have
        dev_env.client.service_client.config.target_host,
        namespace=dev_env.client.namespace,
        data_converter=pydantic_data_converter,
    )
    second = smtp_worker(other, get_settings())
    async with second:
        enrolled = await api.call("POST", url, role="rep", json={"emails": emails})
        assert [r["result"] for r in enrolled.json()["results"]] == ["enrolled"] * 6
        received: list[datetime] = []
        async with httpx.AsyncClient(base_url=api.sink) as sink:
            for _ in range(200):
                found = (await sink.get("/api/messages", params={"subject": "Hi P"})).json()
                received = sorted(
                    datetime.fromisoformat(m["received_at"]) for m in found["messages"]
                )
                if len(received) == 6:
                    break
                await asyncio.sleep(0.1)
    assert len(received) == 6  # all went out in the end, none failed
    with Session(get_engine()) as session:  # the quota's own ledger: when each send began
        began = sorted(
            s.at if s.at.tzinfo else s.at.replace(tzinfo=UTC)
            for s in session.exec(select(SendSlot)).all()
        )
    assert len(began) == 6
    for index in range(len(began) - 2):  # never 3 within the 2-second window
        assert began[index + 2] - began[index] >= timedelta(seconds=2), began
    for index in range(len(received) - 2):  # as the inbox sees it (SMTP time varies a little)
        assert received[index + 2] - received[index] >= timedelta(seconds=1.5), received
    assert received[-1] - received[0] >= timedelta(seconds=3.5)
    assert all(r.tzinfo == UTC or r.utcoffset() == timedelta(0) for r in received)
