"""Kill the worker again and again while it sends a few hundred emails: every message reaches
the sink exactly once.

Real processes: a Temporal dev server, the SMTP sink, and `cadence worker` killed with SIGKILL
whenever it is in full flow (16 sends at once, tracking and guards on), then restarted. Each
kill leaves sends claimed but unfinished, some of them already in the sink; their retries
settle them through the sink's API (the Sent-folder check of the dev stack).
"""

from __future__ import annotations

import asyncio
import email
import functools
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, col
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from cadence.core.auth import create_user
from cadence.core.db import get_engine
from cadence.core.models import EmailMessage, Person, Role
from cadence.domain.contracts import SEARCH_ATTRIBUTE_KEYS
from tests.utils.live_stack import DEVSTACK
from tests.utils.net import free_port
from tests.utils.temporal import TEMPORAL_CLI

pytestmark = pytest.mark.e2e
CADENCE = Path(sys.executable).parent / "cadence"
PEOPLE = 300
KILLS = 6
PLAYBOOK = """\
name: Kill test
settings: {skip_weekends: false, holidays: "off", send_window: {start: "00:00", end: "23:59"}}
steps:
  - {id: intro, day: 1, type: auto_email, send_at: immediately,
     subject: "Hello {{first_name}}", body: "Hi {{first_name}}, see https://example.com/x"}
"""


def sink_count(maildir: Path) -> int:
    return sum(len(os.listdir(maildir / sub)) for sub in ("new", "cur"))


def flowing(maildir: Path, before: int) -> bool:
    """Fifteen more messages in the sink than ``before``: the worker is in full flow."""
    return sink_count(maildir) >= before + 15


def sink_ids(maildir: Path) -> Counter[str]:
    ids: Counter[str] = Counter()
    for folder in ("new", "cur"):
        for name in os.listdir(maildir / folder):
            with open(maildir / folder / name, "rb") as raw:
                ids[str(email.message_from_binary_file(raw)["Message-ID"])] += 1
    return ids


def unfinished() -> set[str]:
    with get_engine().connect() as conn:
        return set(
            conn.execute(
                sa.select(col(EmailMessage.message_id)).where(col(EmailMessage.status) == "sending")
            ).scalars()
        )


def sent() -> int:
    with get_engine().connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(col(EmailMessage.status) == "sent")
            ).scalar_one()
        )


def start_sink(maildir: Path, smtp_port: int, http_port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*DEVSTACK, "sink", "--smtp-port", str(smtp_port), "--http-port", str(http_port),
         "--maildir", str(maildir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def poll(done: Callable[[], bool], seconds: float, every: float) -> None:
    """Return once ``done()`` holds or the time is up."""
    for _ in range(int(seconds / every)):
        if done():
            return
        await asyncio.sleep(every)


async def test_killing_the_worker_mid_send_never_duplicates_or_loses_an_email(
    database: str, tmp_path: Path
) -> None:
    maildir = tmp_path / "sink"
    smtp_port, http_port = free_port(), free_port()
    sink = start_sink(maildir, smtp_port, http_port)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI),
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTE_KEYS,
        dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal"],
    )
    worker_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CADENCE_")},
        "CADENCE_DATABASE_URL": database,
        "CADENCE_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "CADENCE_SMTP_HOST": "127.0.0.1",
        "CADENCE_SMTP_PORT": str(smtp_port),
        "CADENCE_SENT_CHECK_URL": f"http://127.0.0.1:{http_port}/api/messages",
        "CADENCE_SEND_LEASE_SECONDS": "2",
        "CADENCE_TRACKING_SECRET": "kill-test-secret",
        "CADENCE_PUBLIC_BASE_URL": "https://cadence.example.com",
        "CADENCE_MAILBOX_RATE_COUNT": "1000000",
        "CADENCE_MAILBOX_DAILY_CAP": "1000000",
    }
    log = (tmp_path / "worker.log").open("w")

    def start_worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(CADENCE), "worker"], env=worker_env, stdout=log, stderr=subprocess.STDOUT
        )

    try:
        with Session(get_engine()) as session:
            _, token = create_user(session, name="Rita", email="rita@seller.test", role=Role.admin)
            people = [Person(email=f"p{i}@example.com", first_name=f"P{i}") for i in range(PEOPLE)]
            session.add_all(people)
            session.commit()
            person_ids = [p.id for p in people]
        app = create_app()
        app.state.temporal, app.state.temporal_lock = env.client, asyncio.Lock()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://api",
            headers={"Authorization": f"Bearer {token}"},
        ) as api:
            created = await api.post("/campaigns", content=PLAYBOOK,
                                     headers={"Content-Type": "application/yaml"})  # fmt: skip
            assert created.status_code == 201, created.text
            url = f"/campaigns/{created.json()['id']}/enrollments"
            for first in range(0, PEOPLE, 100):
                enrolled = await api.post(url, json={"person_ids": person_ids[first : first + 100]})
                assert enrolled.status_code == 202, enrolled.text

        interrupted, ambiguous = 0, 0  # sends a kill cut; those of them already delivered
        for _ in range(KILLS):
            worker = start_worker()
            before = sink_count(maildir)  # wait until it is in full flow
            await poll(functools.partial(flowing, maildir, before), seconds=20, every=0.05)
            await asyncio.sleep(random.uniform(0.0, 0.3))
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            cut = unfinished()
            interrupted += len(cut)
            ambiguous += len(cut & set(sink_ids(maildir)))
            if sent() == PEOPLE:
                break

        worker = start_worker()  # the last one runs to the end
        await poll(lambda: sent() == PEOPLE, seconds=180, every=0.5)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    finally:
        log.close()
        await env.shutdown()
        sink.terminate()
        sink.wait()

    ids = sink_ids(maildir)
    with get_engine().connect() as conn:
        rows = conn.execute(sa.select(col(EmailMessage.message_id), col(EmailMessage.status)))
        statuses = dict(rows.tuples().all())
    duplicates = {m: n for m, n in ids.items() if n > 1}
    print(
        f"kills cut {interrupted} sends, {ambiguous} of them after the message had reached "
        f"the sink; the sink holds {sum(ids.values())} messages for {PEOPLE} people"
    )
    assert interrupted > 0, "no kill landed during a send: the test proved nothing"
    assert duplicates == {}
    assert set(ids) == set(statuses) and len(ids) == PEOPLE  # none lost
    assert set(statuses.values()) == {"sent"}, Counter(statuses.values())
