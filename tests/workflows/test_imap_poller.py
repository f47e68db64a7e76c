"""The IMAP poller: reads only what is new, remembers where it stopped, survives a server
that renumbers its folder, and hands every message to processing (time-skipping server)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.inbound import InboundActivities
from cadence.core.config import get_settings
from cadence.core.db import get_engine
from cadence.core.models import InboundMessage
from cadence.domain.contracts import IMAP_QUEUE, MailboxPollInput
from cadence.services.inbound import InboundMail
from cadence.services.inbound_imap import MailboxReader
from tests.utils.fake_imap import FakeInbox
from workflows.inbound_mail import InboundMailWorkflow, MailboxPollerWorkflow

ADDRESS = "rep@seller.test"
INBOUND = InboundActivities(InboundMail(), MailboxReader())
poll_mailbox, process_inbound = INBOUND.poll_mailbox, INBOUND.process_inbound


def message(n: int) -> bytes:
    return (
        f"From: Lead {n} <lead{n}@example.com>\r\nTo: {ADDRESS}\r\nSubject: Re: hello {n}\r\n"
        f"Message-ID: <m{n}@example.com>\r\n\r\nAnswer number {n}.\r\n"
    ).encode()


@pytest.fixture
async def inbox(database: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeInbox]:
    box = FakeInbox("rita", "s3cret")
    server = await asyncio.start_server(box.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    mailboxes = {ADDRESS: {"inbox_url": f"imap://rita@127.0.0.1:{port}/INBOX",
                           "password": "s3cret", "poll_seconds": 30}}  # fmt: skip
    monkeypatch.setenv("CADENCE_MAILBOXES", json.dumps(mailboxes))
    get_settings.cache_clear()
    yield box
    server.close()
    get_settings.cache_clear()


def stored() -> list[InboundMessage]:
    with Session(get_engine()) as session:
        return list(session.exec(select(InboundMessage).order_by(col(InboundMessage.id))).all())


async def test_each_poll_reads_only_new_mail_and_a_renumbered_folder_stores_nothing_twice(
    inbox: FakeInbox,
) -> None:
    env = ActivityEnvironment()
    inbox.add(message(1))
    inbox.add(message(2))
    first = await env.run(poll_mailbox, MailboxPollInput(mailbox=ADDRESS))
    assert first.last_uid == 2 and first.uidvalidity == 1000 and len(first.stored) == 2
    assert [m.sender for m in stored()] == ["lead1@example.com", "lead2@example.com"]
    assert all(m.source == "imap" and m.mailbox == ADDRESS for m in stored())

    cursor = MailboxPollInput(mailbox=ADDRESS, uidvalidity=1000, last_uid=2)
    nothing = await env.run(poll_mailbox, cursor)
    assert nothing.stored == [] and nothing.last_uid == 2
    assert inbox.fetched == [1, 2]  # "UID 3:*" answers UID 2; it is not fetched again

    inbox.add(message(3))
    third = await env.run(poll_mailbox, cursor)
    assert third.last_uid == 3 and inbox.fetched == [1, 2, 3] and len(stored()) == 3

    inbox.renumber()
    again = await env.run(poll_mailbox, cursor.model_copy(update={"last_uid": 3}))
    assert again.uidvalidity == 1001 and len(again.stored) == 3
    assert len(stored()) == 3  # read again, kept once
    assert sorted(m.inbound_id for m in again.stored) == [m.id for m in stored()]


async def test_the_team_inbox_is_read_with_the_team_login(
    inbox: FakeInbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CADENCE_INBOX_URL: the team server's inbox, polled as the mailbox named "team"."""
    port = json.loads(os.environ["CADENCE_MAILBOXES"])[ADDRESS]["inbox_url"].split(":")[2]
    monkeypatch.setenv("CADENCE_MAILBOXES", "{}")
    monkeypatch.setenv("CADENCE_INBOX_URL", f"imap://127.0.0.1:{port}")
    monkeypatch.setenv("CADENCE_SMTP_USERNAME", "rita")
    monkeypatch.setenv("CADENCE_INBOX_PASSWORD", "s3cret")
    get_settings.cache_clear()
    assert list(get_settings().inboxes()) == ["team"]
    inbox.add(message(1))
    result = await ActivityEnvironment().run(poll_mailbox, MailboxPollInput(mailbox="team"))
    assert result.last_uid == 1 and [m.mailbox for m in stored()] == ["team"]
    with pytest.raises(Exception, match=r"no inbox for rep@seller\.test"):
        await ActivityEnvironment().run(poll_mailbox, MailboxPollInput(mailbox=ADDRESS))


async def test_a_wrong_password_fails_the_poll_and_stores_nothing(inbox: FakeInbox) -> None:
    inbox.password = "changed"
    inbox.add(message(1))
    with pytest.raises(Exception, match="login"):
        await ActivityEnvironment().run(poll_mailbox, MailboxPollInput(mailbox=ADDRESS))
    assert stored() == []


async def test_the_poller_workflow_keeps_its_place_and_processes_every_message(
    inbox: FakeInbox, time_env: WorkflowEnvironment
) -> None:
    inbox.add(message(1))
    queue = f"inbound-{uuid.uuid4()}"
    workers = [
        Worker(time_env.client, task_queue=queue,
               workflows=[MailboxPollerWorkflow, InboundMailWorkflow],
               activities=[process_inbound]),
        Worker(time_env.client, task_queue=IMAP_QUEUE, activities=[poll_mailbox]),
    ]  # fmt: skip
    async with workers[0], workers[1]:
        handle = await time_env.client.start_workflow(
            MailboxPollerWorkflow.run,
            MailboxPollInput(mailbox=ADDRESS, poll_seconds=30),
            id=f"mailbox-poll/{uuid.uuid4()}",
            task_queue=queue,
        )
        for _ in range(200):
            position = await handle.query(MailboxPollerWorkflow.position)
            if position and position.last_uid == 1:
                break
            await asyncio.sleep(0.05)
        inbox.add(message(2))
        await time_env.sleep(timedelta(seconds=31))
        for _ in range(200):
            rows = stored()
            if len(rows) == 2 and all(r.processed_at for r in rows):
                break
            await asyncio.sleep(0.05)
        position = await handle.query(MailboxPollerWorkflow.position)
        assert position is not None and position.last_uid == 2 and position.uidvalidity == 1000
        assert inbox.fetched == [1, 2]
        assert [r.label for r in rows] == ["human_reply", "human_reply"]
        assert all(r.matched_by is None for r in rows)  # strangers: kept, matched to nobody
        await handle.terminate()
