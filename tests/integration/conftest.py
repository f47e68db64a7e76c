"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cadence.core.config import get_settings
from cadence.services import shipping
from devstack.fakes.marketo import create_app as marketo_app
from devstack.fakes.salesforce import create_app as salesforce_app
from tests.utils.fakes import Fakes, serve_app
from tests.utils.net import free_port


@pytest.fixture
async def fakes(database: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Fakes]:
    mk = marketo_app("mk-id", "mk-secret", bulk_step_s=0.05)  # bulk exports in moments
    sf = salesforce_app("sf-id", "sf-secret")
    mk_port, sf_port = free_port(), free_port()
    env = {
        "CADENCE_MARKETO_BASE_URL": f"http://127.0.0.1:{mk_port}",
        "CADENCE_MARKETO_CLIENT_ID": "mk-id",
        "CADENCE_MARKETO_CLIENT_SECRET": "mk-secret",
        "CADENCE_SALESFORCE_BASE_URL": f"http://127.0.0.1:{sf_port}",
        "CADENCE_SALESFORCE_CLIENT_ID": "sf-id",
        "CADENCE_SALESFORCE_CLIENT_SECRET": "sf-secret",
        "CADENCE_MARKETO_BULK_POLL_SECONDS": "0.05",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    shipping._type_ids.clear()  # a new fake Marketo numbers its activity types anew
    servers = [await serve_app(mk, mk_port), await serve_app(sf, sf_port)]
    yield Fakes(mk, sf, env["CADENCE_MARKETO_BASE_URL"], env["CADENCE_SALESFORCE_BASE_URL"])
    for server, task in servers:
        server.should_exit = True
        await task
