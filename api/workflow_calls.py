"""Calling workflows from HTTP: every Temporal failure becomes a JSON answer that says what
happened, never a bare 500. 409: the workflow refused, or it is not running; 503: Temporal, or
the workflow, could not answer now (a query that failed in the workflow's code included)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from temporalio.client import (
    RPCTimeoutOrCancelledError,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError, TemporalError
from temporalio.service import RPCError, RPCStatusCode

T = TypeVar("T")


class WorkflowGone(HTTPException):
    """The workflow is not running: closed, or unknown to Temporal."""


def http_error(err: TemporalError, what: str = "The workflow", gone: int = 409) -> HTTPException:
    """What to answer for ``err``; ``gone`` is the status for a workflow that is not running
    (409 for a change, 404 for a read)."""
    if isinstance(err, WorkflowUpdateFailedError):  # refused by a validator, or failed
        cause = err.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
        return HTTPException(status.HTTP_409_CONFLICT, message)
    if isinstance(err, WorkflowQueryRejectedError):
        how = err.status.name.lower() if err.status is not None else "closed"
        return WorkflowGone(gone, f"{what} has ended ({how})")
    if isinstance(err, WorkflowQueryFailedError):
        return HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"{what} could not answer: {err.message}"
        )
    if isinstance(err, RPCTimeoutOrCancelledError):
        return HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"{what} did not answer in time (it may still do it): try again",
        )
    if isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND:
        return WorkflowGone(gone, f"{what} is not running ({err.message})")
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"Temporal: {err}")


async def call_workflow(
    call: Awaitable[T], what: str = "The workflow", gone: int = status.HTTP_409_CONFLICT
) -> T:
    """Await one query, update, signal or describe; a failure is raised as an HTTPException."""
    try:
        return await call
    except TemporalError as err:
        raise http_error(err, what, gone) from err


async def _temporal_error(request: Request, err: Exception) -> JSONResponse:
    mapped = http_error(err if isinstance(err, TemporalError) else TemporalError(str(err)))
    return JSONResponse({"detail": mapped.detail}, status_code=mapped.status_code)


def install_error_handler(app: FastAPI) -> None:
    """A safety net for a Temporal call a route made without call_workflow."""
    app.add_exception_handler(TemporalError, _temporal_error)
