"""Waiting for something to become true."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

T = TypeVar("T")


@overload
async def eventually(check: Callable[[], Awaitable[T | None]], within: float = 30) -> T: ...
@overload
async def eventually(check: Callable[[], T | None], within: float = 30) -> T: ...
async def eventually(
    check: Callable[[], Awaitable[T | None]] | Callable[[], T | None], within: float = 30
) -> T:
    deadline = time.monotonic() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s: {check}")
        await asyncio.sleep(0.1)
