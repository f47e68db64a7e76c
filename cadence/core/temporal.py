"""The one way to connect to Temporal (always with the pydantic data converter)."""

from __future__ import annotations

import asyncio
import re
import time

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from cadence.core.config import Settings, get_settings


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


async def register_search_attributes(
    client: Client, attributes: dict[str, str] | None = None
) -> dict[str, str]:
    """Register the search attributes a server lacks (default: the enrollments' own, from
    workflows/contracts.py) and return those added. Needed on the time-skipping test server
    (without them, upserts hang the workflow) and on a dev server whose database predates an
    attribute (`start-dev --search-attribute` adds none to an existing database)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )
    from temporalio.service import RPCError

    from cadence.domain.contracts import SEARCH_ATTRIBUTES

    wanted = SEARCH_ATTRIBUTES if attributes is None else attributes
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        existing = set(listed.custom_attributes)
    except RPCError:  # the time-skipping server cannot list them (and starts with none)
        existing = set()
    missing = {name: kind for name, kind in wanted.items() if name not in existing}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=client.namespace,
                search_attributes={
                    # "KeywordList" -> INDEXED_VALUE_TYPE_KEYWORD_LIST
                    name: IndexedValueType.Value(
                        "INDEXED_VALUE_TYPE_" + re.sub(r"(?<!^)(?=[A-Z])", "_", kind).upper()
                    )
                    for name, kind in missing.items()
                },
            )
        )
    return missing
