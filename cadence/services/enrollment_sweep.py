"""The enrollment sweep: the database's running enrollments (active or paused), a batch at a
time, each run described in Temporal; those that stopped without finishing are recorded as
ended (cadence.services.reconcile). A retried sweep goes on after the last batch it finished."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlmodel import col, select
from temporalio.client import Client

from cadence.core.db import run_db, session_scope
from cadence.core.models import Enrollment
from cadence.domain.contracts import RUNNING_STATUSES, EnrollmentSweepInput, EnrollmentSweepResult
from cadence.services import Heartbeat, no_heartbeat
from cadence.services.reconcile import RunEnd, how_it_ended, record_end

log = logging.getLogger("cadence.sweep")


def _running_after(after_id: int, limit: int) -> list[Enrollment]:
    with session_scope() as session:
        return list(
            session.exec(
                select(Enrollment)
                .where(col(Enrollment.id) > after_id, col(Enrollment.status).in_(RUNNING_STATUSES))
                .order_by(col(Enrollment.id))
                .limit(limit)
            ).all()
        )


def _record(ends: list[tuple[int, RunEnd]]) -> list[str]:
    """Record each end; the end reasons of the rows that still said running."""
    recorded = []
    with session_scope() as session:
        for enrollment_id, end in ends:
            row = session.get(Enrollment, enrollment_id)
            if row is not None and record_end(session, row, end):
                recorded.append(end.end_reason.value)
    return recorded


class EnrollmentSweep:
    """The sweep, with the Temporal client to describe runs with (the worker's)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def sweep(
        self,
        inp: EnrollmentSweepInput,
        resume: tuple[int, EnrollmentSweepResult] | None = None,
        heartbeat: Heartbeat = no_heartbeat,
    ) -> EnrollmentSweepResult:
        """Check every running enrollment after ``resume``'s id (where a retried sweep goes
        on, with its counts so far); heartbeats (last id, counts) after each batch."""
        after, result = resume or (0, EnrollmentSweepResult())
        grace = timedelta(seconds=inp.start_grace_seconds)
        gate = asyncio.Semaphore(inp.concurrency)

        async def check(row: Enrollment) -> tuple[int, RunEnd | None]:
            async with gate:
                return int(row.id or 0), await how_it_ended(self.client, row, grace)

        while rows := await run_db(_running_after, after, inp.batch_size):
            checked = await asyncio.gather(*(check(row) for row in rows))
            for reason in await run_db(_record, [(i, end) for i, end in checked if end]):
                result.ended[reason] = result.ended.get(reason, 0) + 1
            result.checked += len(rows)
            after = int(rows[-1].id or 0)
            heartbeat(after, result.model_dump())
        if result.ended:
            log.warning("enrollment sweep: %s of %s ended", result.ended, result.checked)
        return result
