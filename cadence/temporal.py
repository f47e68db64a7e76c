"""The one way to connect to Temporal (always with the pydantic data converter)."""

from __future__ import annotations

import asyncio
import time

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from cadence.config import Settings, get_settings


async def connect(settings: Settings | None = None, wait_s: float = 0.0) -> Client:
    """Connect, retrying for up to ``wait_s`` seconds while the server is starting."""
    settings = settings or get_settings()
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                data_converter=pydantic_data_converter,
            )
        except RuntimeError:
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.5)


async def register_search_attributes(client: Client) -> None:
    """Register our custom search attributes on a server that lacks them (the time-skipping
    test server: without them, upserts hang the workflow)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    from workflows.contracts import SEARCH_ATTRIBUTES

    kinds = {
        "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    }
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={k: kinds[v] for k, v in SEARCH_ATTRIBUTES.items()},
        )
    )
