"""The fake Marketo and Salesforce served in-process (the `fakes` fixture in
tests/integration/conftest.py yields a `Fakes`), and leads in the fake Marketo."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI

from cadence.integrations.marketo import MarketoClient

OWNER = "005000000000007AAA"


@dataclass
class Fakes:
    marketo: FastAPI
    salesforce: FastAPI
    marketo_url: str
    salesforce_url: str


async def serve_app(app: FastAPI, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            return server, task
        await asyncio.sleep(0.02)
    raise TimeoutError(f"fake on port {port} did not start")


async def marketo_lead(fakes: Fakes, **fields: Any) -> int:
    async with MarketoClient(fakes.marketo_url, "mk-id", "mk-secret") as client:
        result = await client.sync_leads([fields], action="createOrUpdate", lookup_field="email")
    return int(result[0]["id"])
