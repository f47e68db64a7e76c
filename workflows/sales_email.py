"""SalesEmailWorkflow: a one-off or group sales email, one personalised message per person.

Its workflow id (``email/{request}``) makes the request idempotent, and each message's
Message-ID derives from it, so a repeated request or a killed worker never sends a copy twice.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from cadence.domain.contracts import (
        SalesEmailInput,
        SalesEmailOutcome,
        SendEmailInput,
        sales_email_step_id,
    )
    from workflows.sending import send


def sales_email_workflow_id(request_id: str) -> str:
    return f"email/{request_id}"


@workflow.defn
class SalesEmailWorkflow:
    def __init__(self) -> None:
        self.outcomes: dict[int, SalesEmailOutcome] = {}

    @workflow.run
    async def run(self, inp: SalesEmailInput) -> list[SalesEmailOutcome]:
        people = list(dict.fromkeys(inp.person_ids))
        self.outcomes = {p: SalesEmailOutcome(person_id=p) for p in people}
        await asyncio.gather(*(self._send_to(inp, p) for p in people))
        return self.results()

    async def _send_to(self, inp: SalesEmailInput, person_id: int) -> None:
        try:
            result = await send(
                SendEmailInput(
                    workflow_id=workflow.info().workflow_id,
                    enrollment_id=None,
                    campaign_id=None,
                    campaign_name=None,
                    step_id=sales_email_step_id(person_id),
                    step_day=None,
                    person_id=person_id,
                    owner=inp.owner,
                    subject=inp.subject,
                    body=inp.body,
                    cc=inp.cc,
                    bcc=inp.bcc,
                    attachment_ids=inp.attachment_ids,
                    commercial=inp.commercial,
                    template=inp.template,
                )
            )
        except ActivityError as err:
            cause = err.cause
            reason = cause.message if isinstance(cause, ApplicationError) else str(err)
            self.outcomes[person_id] = SalesEmailOutcome(
                person_id=person_id, status="failed", reason=reason
            )
            return
        self.outcomes[person_id] = SalesEmailOutcome(
            person_id=person_id,
            status="sent" if result.status == "sent" else "skipped",
            message_id=result.message_id,
            reason=result.reason,
            guard=result.guard,
        )

    @workflow.query
    def results(self) -> list[SalesEmailOutcome]:
        return list(self.outcomes.values())
