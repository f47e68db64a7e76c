"""The fakes' admin layer (not part of any vendor's API), the same for every fake.

One fault model, one stats model and one router: each fake mounts ``admin_router`` and gets the
same URLs with the same JSON:

- ``POST /_fake/faults`` with a `Fault`; ``GET`` lists the faults waiting, ``DELETE`` drops them.
- ``GET /_fake/stats``: a `FakeStats`.
- ``POST /_fake/reset``: back to a freshly started fake (data, tokens, faults, counters).
- ``POST /_fake/revoke-token``: every access token stops working (``{"revoked": [...]}``).
- ``GET /``: a page with what the fake holds and its admin endpoints.

A fake only says which error ``code`` values it can inject (its vendor's codes) and what each
does; when to fire a fault is decided here (`Faults.take`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from devstack.fakes.home import home_page


class Fault(BaseModel):
    """An injected failure for the next ``count`` matching calls (1 when neither ``count`` nor
    ``rate`` is given), or for a ``rate`` (0 to 1) of them until the faults are cleared.

    What it does, any combination: answer the vendor error ``code`` instead of doing the call,
    wait ``delay_s`` first, or do the call and then lose the answer (``drop_after_commit``: a bare
    502, as if the connection dropped). ``path_contains`` narrows it to matching request paths.
    """

    model_config = ConfigDict(extra="forbid")

    code: str | None = None
    count: int | None = Field(default=None, ge=1)
    rate: float | None = Field(default=None, ge=0.0, le=1.0)
    path_contains: str | None = None
    delay_s: float = Field(default=0.0, ge=0.0, le=600.0)
    drop_after_commit: bool = False

    @model_validator(mode="after")
    def _one_trigger_and_an_effect(self) -> Fault:
        if self.count is not None and self.rate is not None:
            raise ValueError("give count or rate, not both")
        if self.code is None and not self.delay_s and not self.drop_after_commit:
            raise ValueError("a fault needs a code, a delay_s or drop_after_commit")
        if self.count is None and self.rate is None:
            self.count = 1
        return self


class Faults:
    """The faults waiting, and which one (if any) applies to a request."""

    def __init__(self, codes: Mapping[str, str]) -> None:
        self.codes = dict(codes)  # the error codes this fake can inject -> what each does
        self._waiting: list[Fault] = []

    def add(self, spec: Any) -> Fault:
        """Validate a JSON fault spec and queue it; ValueError says what is wrong."""
        if not isinstance(spec, dict):
            raise ValueError("a JSON object is required")
        try:
            fault = Fault.model_validate(spec)
        except ValidationError as exc:
            where = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(where) from None
        if fault.code is not None and fault.code not in self.codes:
            raise ValueError(
                f"code: unsupported fault code {fault.code!r}; use one of {sorted(self.codes)}"
            )
        self._waiting.append(fault)
        return fault

    def take(self, path: str) -> Fault | None:
        """The fault for a request to ``path``: a counted one is used up, a rate one stays."""
        for fault in list(self._waiting):
            if fault.path_contains and fault.path_contains not in path:
                continue
            if fault.rate is not None:
                if random.random() < fault.rate:
                    return fault
                continue
            fault.count = (fault.count or 1) - 1
            if fault.count <= 0:
                self._waiting.remove(fault)
            return fault
        return None

    def clear(self) -> None:
        self._waiting.clear()

    def __len__(self) -> int:
        return len(self._waiting)

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._waiting))


class FakeStats(BaseModel):
    """What a fake has served and holds, the same keys for every fake."""

    requests: int  # API requests received (the token endpoint not included)
    calls: int  # requests counted against the vendor's API allocation
    token_requests: int
    by_path: dict[str, int]  # counted calls per request path
    errors: dict[str, int]  # vendor error code -> times answered
    usage: dict[str, float]  # the vendor's limits as the fake counts them now
    holds: dict[str, int]  # what the fake stores, e.g. records per sObject
    faults: list[Fault]  # the faults waiting


class AdminFake(Protocol):
    """What a fake provides to be administered through `admin_router`."""

    faults: Faults

    def fake_stats(self) -> FakeStats: ...

    def reset(self) -> None: ...

    def revoke_tokens(self) -> list[str]: ...


def admin_router(fake: AdminFake, about: str) -> APIRouter:
    """The shared admin endpoints and the root page; ``about`` says what the fake stands for."""
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    async def home(request: Request) -> HTMLResponse:
        stats = fake.fake_stats()
        holds = {**stats.holds, "faults waiting": len(stats.faults), "API calls": stats.calls}
        return home_page(request.app, holds, about)

    @router.post("/_fake/faults")
    async def add_fault(request: Request) -> JSONResponse:
        """Make the next calls fail, slow down or lose their answer (a JSON fault spec)."""
        try:
            fault = fake.faults.add(await request.json())
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"fault": fault.model_dump(), "faults": len(fake.faults)})

    @router.get("/_fake/faults")
    async def list_faults() -> JSONResponse:
        """The faults waiting."""
        return JSONResponse([f.model_dump() for f in fake.faults])

    @router.delete("/_fake/faults")
    async def clear_faults() -> JSONResponse:
        """Drop every fault still waiting."""
        fake.faults.clear()
        return JSONResponse({"faults": 0})

    @router.get("/_fake/stats")
    async def stats() -> JSONResponse:
        """Requests, counted calls, token requests, errors, usage, what it holds, faults."""
        return JSONResponse(fake.fake_stats().model_dump())

    @router.post("/_fake/reset")
    async def reset() -> JSONResponse:
        """Forget everything: stored data, tokens, faults and counters."""
        fake.reset()
        return JSONResponse({"reset": True})

    @router.post("/_fake/revoke-token")
    async def revoke() -> JSONResponse:
        """Revoke every access token (the next call with one is refused as unauthenticated)."""
        return JSONResponse({"revoked": fake.revoke_tokens()})

    return router
