"""Telling running enrollments about mail or opt-outs: one `inbound` signal each, from inside
another workflow (inbound mail, the opt-out sync)."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from cadence.domain.contracts import InboundSignal
    from workflows.enrollment import EnrollmentWorkflow


async def tell_enrollments(signals: Sequence[InboundSignal]) -> tuple[list[str], list[str]]:
    """Signal each enrollment; returns (told, gone): an enrollment that ended meanwhile cannot
    be told, and needs not be."""
    told: list[str] = []
    gone: list[str] = []
    for item in signals:
        handle = workflow.get_external_workflow_handle_for(EnrollmentWorkflow.run, item.workflow_id)
        try:
            await handle.signal(EnrollmentWorkflow.inbound, item.event)
            told.append(item.workflow_id)
        except FailureError:
            gone.append(item.workflow_id)
    return told, gone
