"""PeopleSyncWorkflow: pull new and changed people from Marketo (run by a schedule), then
tell running enrollments whose person's zone or country changed (cadence/people_location.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from activities.people import PeopleActivities
    from cadence.domain.contracts import (
        MARKETO_QUEUE,
        TASK_QUEUE,
        LocationChange,
        LocationNoticesInput,
        PeopleSyncInput,
        PeopleSyncResult,
    )
    from workflows.enrollment import EnrollmentWorkflow
    from workflows.scheduled import Scheduled

# a first sync of a large instance runs many bulk exports, a minute or two each
PEOPLE_SYNC = Scheduled("people-sync", MARKETO_QUEUE, timeout=timedelta(hours=6),
                        heartbeat=timedelta(minutes=2), max_interval=timedelta(minutes=5),
                        max_attempts=10)  # fmt: skip
PEOPLE_SYNC_ID, PEOPLE_SYNC_SCHEDULE_ID = PEOPLE_SYNC.workflow_id, PEOPLE_SYNC.schedule_id
# Runs of the code from before it told enrollments about locations end after the sync.
LOCATION_NOTICES_PATCH = "people-sync-location-notices"
DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


@workflow.defn
class PeopleSyncWorkflow:
    @workflow.run
    async def run(self, inp: PeopleSyncInput) -> PeopleSyncResult:
        result = await workflow.execute_activity_method(
            PeopleActivities.sync_people_from_marketo,
            inp,
            **PEOPLE_SYNC.activity_options(),
        )
        if workflow.patched(LOCATION_NOTICES_PATCH):
            result.locations_told = await tell_locations()
        return result


async def tell_locations() -> int:
    """Signal the running enrollments of the people whose zone or country changed (a batch;
    the rest wait for the next run), then mark them told. An enrollment that ended meanwhile
    needs no telling. Returns the number of enrollments told."""
    notices = await workflow.execute_activity_method(
        PeopleActivities.location_notices,
        LocationNoticesInput(),
        task_queue=TASK_QUEUE,
        start_to_close_timeout=timedelta(minutes=2),
        retry_policy=DB_RETRY,
    )
    if not notices.versions:
        return 0

    async def tell(workflow_id: str, change: LocationChange) -> bool:
        handle = workflow.get_external_workflow_handle_for(EnrollmentWorkflow.run, workflow_id)
        try:
            await handle.signal(EnrollmentWorkflow.change_location, change)
        except FailureError:  # the enrollment has ended
            return False
        return True

    told = await asyncio.gather(*(tell(s.workflow_id, s.change) for s in notices.signals))
    await workflow.execute_activity_method(
        PeopleActivities.mark_location_notified,
        notices,
        task_queue=TASK_QUEUE,
        start_to_close_timeout=timedelta(minutes=2),
        retry_policy=DB_RETRY,
    )
    return sum(told)
