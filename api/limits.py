"""Request body limits: one table, per route, enforced while the body streams in.

A request that declares a larger Content-Length is refused before any of its body is read;
one without (chunked) or that sends more than it declared is refused as soon as the bytes
read pass the limit, so no body is ever held whole before refusal. The answer is the API's
usual JSON error, ``413 {"detail": "..."}``, naming the route's limit. (FastAPI's own
``max_body_size`` answers some of these cases in plain text, without the limit.)
"""

from __future__ import annotations

import re
from functools import lru_cache

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cadence.inbound import MAX_INBOUND_BYTES
from cadence.models import MAX_ATTACHMENTS_BYTES
from workflows.playbook import MAX_PLAYBOOK_BYTES

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
