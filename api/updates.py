"""Workflow updates from HTTP: a refusal by the workflow's validator is a 409 saying why."""

from __future__ import annotations

from fastapi import HTTPException, status
from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from workflows.contracts import EnrollmentState
from workflows.enrollment import EnrollmentWorkflow


async def update_enrollment(
    temporal: Client, workflow_id: str, update: str, argument: BaseModel
) -> EnrollmentState:
    """Run the enrollment workflow's ``update`` and return its state."""
    handle = temporal.get_workflow_handle_for(EnrollmentWorkflow.run, workflow_id)
    try:
        result: EnrollmentState = await handle.execute_update(
            update, argument, result_type=EnrollmentState
        )
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
        raise HTTPException(status.HTTP_409_CONFLICT, message) from err
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(status.HTTP_409_CONFLICT, "The enrollment has ended") from err
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"Temporal: {err}") from err
    return result
