"""The Marketo unsubscribe check at send time (cadence/services/unsubscribe_check.py) against
the fake Marketo over HTTP: an unsubscribe made in Marketo a moment ago is honoured, answers
are reused briefly, the checks stay within their share of the API limits, and an unreachable
Marketo leaves the synced flag in charge with a log line."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from cadence.services.unsubscribe_check import UnsubscribeCheck
from devstack.fakes.marketo import FakeMarketo, create_app
from tests.utils.net import free_port

CID, SECRET = "check-client", "check-secret"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def marketo(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMarketo]:
    app = create_app(CID, SECRET)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()))
    thread.start()
    while not server.started:
        time.sleep(0.02)
    monkeypatch.setenv("CADENCE_MARKETO_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("CADENCE_MARKETO_CLIENT_ID", CID)
    monkeypatch.setenv("CADENCE_MARKETO_CLIENT_SECRET", SECRET)
    try:
        yield app.state.fake
    finally:
        server.should_exit = True
        thread.join(10)


def _lead(fake: FakeMarketo, **values: Any) -> int:
    with fake.state.lock:
        return int(fake._create_lead(values)["id"])


def _unsubscribe(fake: FakeMarketo, lead_id: int) -> None:
    with fake.state.lock:
        fake._update_lead(fake.data["leads"][str(lead_id)], {"unsubscribed": True})


def _lead_reads(fake: FakeMarketo) -> int:
    return sum(n for path, n in fake.stats.by_path.items() if path.startswith("/rest/v1/lead/"))


def test_an_unsubscribe_made_in_marketo_is_honoured_at_the_next_send(marketo: FakeMarketo) -> None:
    clock = Clock()
    check = UnsubscribeCheck(clock)
    ada = _lead(marketo, email="ada@example.com")
    assert check.unsubscribed(ada, synced=False) is False
    _unsubscribe(marketo, ada)  # in Marketo, after our last people sync
    clock.now += 5
    assert check.unsubscribed(ada, synced=False) is False  # the answer of 5 s ago, reused
    assert _lead_reads(marketo) == 1
    clock.now += 30
    assert check.unsubscribed(ada, synced=False) is True
    assert _lead_reads(marketo) == 2
    assert check.unsubscribed(None, synced=False) is False  # not a Marketo lead: nothing to ask
    assert check.unsubscribed(ada, synced=True) is True  # unsubscribed here: no call needed
    assert _lead_reads(marketo) == 2


def test_checks_stay_within_their_share_of_the_api_limits(
    marketo: FakeMarketo, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CADENCE_MARKETO_UNSUBSCRIBE_CHECKS_PER_20S", "2")
    clock = Clock()
    check = UnsubscribeCheck(clock)
    people = [_lead(marketo, email=f"p{n}@example.com", unsubscribed=True) for n in range(3)]
    with caplog.at_level(logging.INFO, logger="cadence.services.unsubscribe_check"):
        assert [check.unsubscribed(p, synced=False) for p in people] == [True, True, False]
    assert _lead_reads(marketo) == 2
    assert "using the synced flag" in caplog.text
    clock.now += 21  # the window has passed
    assert check.unsubscribed(people[2], synced=False) is True


def test_an_unreachable_marketo_leaves_the_synced_flag_in_charge(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CADENCE_MARKETO_BASE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("CADENCE_MARKETO_CLIENT_ID", CID)
    monkeypatch.setenv("CADENCE_MARKETO_CLIENT_SECRET", SECRET)
    check = UnsubscribeCheck(Clock())
    with caplog.at_level(logging.WARNING, logger="cadence.services.unsubscribe_check"):
        assert check.unsubscribed(7, synced=False) is False
    assert "Marketo did not answer the unsubscribe check for lead 7" in caplog.text
