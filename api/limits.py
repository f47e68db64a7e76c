"""Limits on requests and on what errors send back.

Request body limits: one table, per route, enforced while the body streams in.

A request that declares a larger Content-Length is refused before any of its body is read;
one without (chunked) or that sends more than it declared is refused as soon as the bytes
read pass the limit, so no body is ever held whole before refusal. The answer is the API's
usual JSON error, ``413 {"detail": "..."}``, naming the route's limit. (FastAPI's own
``max_body_size`` answers some of these cases in plain text, without the limit.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cadence.core.models import MAX_ATTACHMENTS_BYTES
from cadence.domain.playbook import MAX_PLAYBOOK_BYTES
from cadence.domain.text import cut
from cadence.services.inbound import MAX_INBOUND_BYTES

MB = 1024 * 1024
DEFAULT_BODY_BYTES = 1 * MB
"""Every route not in the table: JSON bodies (an enrollment of 200 people is about 10 KB)."""

BODY_LIMITS: dict[tuple[str, str], int] = {
    ("POST", "/campaigns"): MAX_PLAYBOOK_BYTES,
    ("POST", "/campaigns/{campaign_id}/versions"): MAX_PLAYBOOK_BYTES,
    ("POST", "/attachments"): MAX_ATTACHMENTS_BYTES,  # a file, 23 MB per email
    ("POST", "/inbound/email"): MAX_INBOUND_BYTES,  # a raw message with 23 MB of attachments
}
"""(method, route path) -> the most bytes its request body may have."""


@lru_cache(maxsize=64)
def _pattern(template: str) -> re.Pattern[str]:
    return compile_path(template)[0]


def _size(limit: int) -> str:
    if limit % MB == 0:
        return f"{limit // MB} MB ({limit} bytes)"
    if limit % 1024 == 0:
        return f"{limit // 1024} KB ({limit} bytes)"
    return f"{limit} bytes"


class BodyTooLarge(HTTPException):
    def __init__(self, what: str, route: str, limit: int) -> None:
        super().__init__(413, f"{what}; {route} takes at most {_size(limit)}")


class BodyLimit:
    """ASGI middleware applying ``BODY_LIMITS`` (read at each request, matched on the path
    templates themselves, so it needs nothing from the router)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def limit_for(scope: Scope) -> tuple[str, int]:
        method, path, root = scope["method"], scope["path"], scope.get("root_path", "")
        path = path.removeprefix(root) if root else path
        for (route_method, template), limit in BODY_LIMITS.items():
            if route_method == method and _pattern(template).match(path):
                return f"{method} {template}", limit
        return f"{method} {path}", DEFAULT_BODY_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route, limit = self.limit_for(scope)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            refusal = BodyTooLarge(f"the request body is {int(declared)} bytes", route, limit)
            await _answer(refusal, scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(f"the request body is over {limit} bytes", route, limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge as refusal:  # raised where no exception handler answered it
            if started:
                raise
            await _answer(refusal, scope, receive, send)


async def _answer(refusal: BodyTooLarge, scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse({"detail": refusal.detail}, status_code=refusal.status_code)
    await response(scope, receive, send)


# -- What a validation error may echo ----------------------------------------------------------

MAX_ERRORS = 20
"""Validation errors listed in a 422; the rest are counted in a last one."""


def _scalar(value: Any) -> Any:
    """A short scalar as it is, a long string cut; anything else is not echoed (None)."""
    if isinstance(value, str):
        return cut(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return None


def brief_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI's validation errors with their place and message, but never large input:
    ``input`` only when it is a scalar (strings cut), ``ctx`` only its short scalars, at most
    ``MAX_ERRORS`` of them. A 2-million-item body gets a 422 of a few hundred bytes."""
    detail: list[dict[str, Any]] = []
    for error in errors[:MAX_ERRORS]:
        item: dict[str, Any] = {
            "type": error.get("type", "value_error"),
            "loc": [p if isinstance(p, int) else cut(str(p)) for p in error.get("loc", ())],
            "msg": cut(str(error.get("msg", ""))),
        }
        if "input" in error:
            echoed = _scalar(error["input"])
            if echoed is not None or error["input"] is None:
                item["input"] = echoed
        ctx = {k: _scalar(v) for k, v in (error.get("ctx") or {}).items()}
        if any(v is not None for v in ctx.values()):
            item["ctx"] = {k: v for k, v in ctx.items() if v is not None}
        detail.append(item)
    if len(errors) > MAX_ERRORS:
        more = f"and {len(errors) - MAX_ERRORS} more problems"
        detail.append({"type": "too_many_errors", "loc": ["body"], "msg": more})
    return detail


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """The 422 for a request that does not validate (replaces FastAPI's, which echoes the
    whole input)."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": brief_errors(exc.errors())}, status_code=422)
