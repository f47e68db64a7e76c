"""OptOutSyncWorkflow on the time-skipping server: the people the sync unsubscribed have their
running enrollments told (an enrollment that ended meanwhile is passed over), and the admin
route refuses when Salesforce is not configured."""

from __future__ import annotations

import uuid

from temporalio import activity, workflow
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from cadence.domain.contracts import (
    InboundEvent,
    InboundSignal,
    OptOutSyncInput,
    OptOutSyncResult,
)
from tests.utils.api import Api
from workflows.optout_sync import OptOutSyncWorkflow


@workflow.defn(name="EnrollmentWorkflow")
class ListeningEnrollment:
    """Stands in for an enrollment: remembers what it was told."""

    def __init__(self) -> None:
        self.heard: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: bool(self.heard))
        return self.heard

    @workflow.signal
    def inbound(self, event: InboundEvent) -> None:
        self.heard.append(event.kind)


@activity.defn(name="sync_opt_outs_from_salesforce")
async def two_opted_out(inp: OptOutSyncInput) -> OptOutSyncResult:
    event = InboundEvent(kind="unsubscribe")
    return OptOutSyncResult(unsubscribed=2, signals=[
        InboundSignal(workflow_id="enrollment/9/1", event=event),
        InboundSignal(workflow_id="enrollment/9/gone", event=event),  # ended meanwhile
    ])  # fmt: skip


async def test_the_workflow_tells_each_running_enrollment(time_env: WorkflowEnvironment) -> None:
    queue = f"optout-{uuid.uuid4()}"
    async with (
        Worker(time_env.client, task_queue=queue,
               workflows=[OptOutSyncWorkflow, ListeningEnrollment],
               workflow_runner=UnsandboxedWorkflowRunner()),  # the stand-in lives in a test
        Worker(time_env.client, task_queue="cadence-salesforce", activities=[two_opted_out]),
    ):  # fmt: skip
        # Declared, not inferred: mypy 2.4 inferring this no-argument `run` against
        # start_workflow's overloads first leaves later get_workflow_handle_for calls with
        # one-argument runs (worker.py, api/) inferred as Never, depending on module order.
        enrollment: WorkflowHandle[ListeningEnrollment, list[str]]
        enrollment = await time_env.client.start_workflow(
            ListeningEnrollment.run, id="enrollment/9/1", task_queue=queue
        )
        result = await time_env.client.execute_workflow(
            OptOutSyncWorkflow.run, OptOutSyncInput(), id=f"opt-out-{uuid.uuid4()}",
            task_queue=queue,
        )  # fmt: skip
        assert result.unsubscribed == 2
        assert await enrollment.result() == ["unsubscribe"]


async def test_running_it_now_needs_salesforce(api: Api) -> None:
    refused = await api.call("POST", "/admin/opt-out-sync")
    assert refused.status_code == 409 and "CADENCE_SALESFORCE" in refused.json()["detail"]
    assert (await api.call("POST", "/admin/opt-out-sync", role="rep")).status_code == 403
