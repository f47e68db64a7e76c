"""The API as tests call it (the `api` fixture yields an `Api`), and ids for people."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from temporalio.client import Client


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
