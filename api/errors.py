"""One error shape for every answer that is not a success, and the handlers that keep it.

Every 4xx and 5xx the API sends is JSON ``{"detail": ...}``:

- ``Error``: ``{"detail": "what is wrong, in words"}`` (401, 403, 404, 405, 409, 413, 415,
  503, 500);
- ``ValidationErrorResponse`` (422 only): ``{"detail": [{"loc", "msg", "type", ...}]}``, one
  item per problem with its place (``loc``: ``["body", "steps", 0, "subject"]``,
  ``["query", "limit"]``), and for a YAML playbook its ``line`` and ``column``.

Routes raise ``HTTPException`` as usual; the handler here turns whatever detail they give into
this shape (a 422 given as text becomes one item on the body; an item without a ``type`` gets
``value_error``), so an answer cannot drift from what the OpenAPI document says (api/openapi.py
documents both models on every route).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException


class ErrorItem(BaseModel):
    """One problem with a request, and where it is."""

    loc: list[str | int] = Field(
        description='Where: "body", "query", "path" or "header", then the field names and '
        "list positions inside it"
    )
    msg: str = Field(description="What is wrong, in words")
    type: str = Field(description='A stable name for the kind of problem, e.g. "int_type"')
    input: Any = Field(default=None, description="The value given, when it is short")
    ctx: dict[str, Any] | None = Field(default=None, description="The rule's own values")
    line: int | None = Field(default=None, description="A YAML playbook: the line (from 1)")
    column: int | None = Field(default=None, description="A YAML playbook: the column (from 1)")
    path: str | None = Field(default=None, description="A playbook: the field, dotted")


class Error(BaseModel):
    """Every error but a 422: what went wrong, in words."""

    detail: str


class ValidationErrorResponse(BaseModel):
    """422: the request does not make sense; every problem with its place."""

    detail: list[ErrorItem]


def _item(raw: Any) -> dict[str, Any]:
    item = dict(raw) if isinstance(raw, dict) else {"msg": str(raw)}
    loc = item.get("loc")
    item["loc"] = [p if isinstance(p, int) else str(p) for p in loc] if loc else ["body"]
    item["msg"] = str(item.get("msg", ""))
    item["type"] = str(item.get("type") or "value_error")
    return item


def error_body(status_code: int, detail: Any) -> dict[str, Any]:
    """The JSON of an error answer, in the one shape (see the module's docstring)."""
    if status_code == 422:
        items = detail if isinstance(detail, list) else [{"msg": str(detail)}]
        return {"detail": [_item(i) for i in items]}
    if isinstance(detail, list):  # a list for another status: its messages, in words
        return {"detail": "; ".join(_item(i)["msg"] for i in detail)}
    return {"detail": str(detail)}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code < 400:  # not an error (a 304, say): no body to shape
        return Response(status_code=exc.status_code, headers=exc.headers)
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI's "error parsing the body": a JSON body that is not UTF-8. Like any body
        # that is not JSON, a 422 naming the body.
        problem = {"loc": ["body"], "msg": "the body is not JSON (not UTF-8 text)",
                   "type": "json_invalid"}  # fmt: skip
        return JSONResponse({"detail": [problem]}, status_code=422)
    body = error_body(exc.status_code, exc.detail)
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    """A bug: the same JSON shape as every other error (the server logs the traceback)."""
    return JSONResponse({"detail": "Internal server error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _server_error)
