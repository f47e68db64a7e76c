"""Enrolling people from the API: the rows (cadence.services.enrolling.prepare), then one
workflow per enrollment, started with USE_EXISTING / REJECT_DUPLICATE so a repeated or retried
request never makes a second enrollment."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import Session
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from cadence.core.config import get_settings
from cadence.core.models import Campaign, Enrollment, EnrollmentStatus, Person, User
from cadence.domain.contracts import (
    CAMPAIGN_ID,
    CAMPAIGN_VERSION,
    ENROLLMENT_STATUS,
    OWNER_ID,
    PERSON_ID,
    TASK_QUEUE,
)
from cadence.services.enrolling import EnrollmentOutcome, prepare
from cadence.services.reconcile import reconcile
from workflows.enrollment import EnrollmentWorkflow


async def start_workflows(client: Client, outcomes: list[EnrollmentOutcome]) -> None:
    """Start (or find) the workflow of every active enrollment, a bounded number at a time."""
    gate = asyncio.Semaphore(32)

    async def start(outcome: EnrollmentOutcome) -> None:
        inp = outcome.start
        if inp is None or outcome.workflow_id is None:
            return
        attributes = TypedSearchAttributes(
            [
                SearchAttributePair(CAMPAIGN_ID, str(inp.campaign_id)),
                SearchAttributePair(CAMPAIGN_VERSION, inp.campaign_version),
                SearchAttributePair(PERSON_ID, str(inp.person.id)),
                SearchAttributePair(OWNER_ID, str(inp.owner.id)),
                SearchAttributePair(ENROLLMENT_STATUS, EnrollmentStatus.active.value),
            ]
        )
        async with gate:
            try:
                await client.start_workflow(
                    EnrollmentWorkflow.run,
                    inp,
                    id=outcome.workflow_id,
                    task_queue=TASK_QUEUE,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    search_attributes=attributes,
                    static_summary=f"{inp.campaign_name} → {inp.person.email}",
                )
            except WorkflowAlreadyStartedError:  # a closed run holds the id
                outcome.result, outcome.run_closed = "already_enrolled", True

    await asyncio.gather(*(start(o) for o in outcomes))


async def enroll(
    session: Session, client: Client, campaign: Campaign, people: list[Person], owner: User
) -> list[EnrollmentOutcome]:
    """Enroll ``people`` (rows, then workflows). A person whose row says running while its
    run has stopped is recorded as ended and enrolled again."""
    outcomes = prepare(session, campaign, people, owner)
    await start_workflows(client, outcomes)
    grace = timedelta(seconds=get_settings().enrollment_start_grace_seconds)
    stopped: set[int] = set()
    for outcome in outcomes:
        row = session.get(Enrollment, outcome.enrollment_id) if outcome.run_closed else None
        if row is not None:
            end = await reconcile(session, client, row, grace)
            if end is not None and end.status == EnrollmentStatus.failed:
                stopped.add(outcome.person_id)
    if not stopped:
        return outcomes
    again = prepare(session, campaign, [p for p in people if p.id in stopped], owner)
    await start_workflows(client, again)
    by_person = {o.person_id: o for o in again}
    return [by_person.get(o.person_id, o) for o in outcomes]
