"""EnrollmentWorkflow: one durable run per (campaign, person) that works through the playbook."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.email import send_email
    from activities.enrollments import finish_enrollment
    from workflows.calendar import SendingCalendar, day_one, planned_due, resolve_timezone
    from workflows.contracts import (
        END_REASON,
        SMTP_QUEUE,
        STATUS,
        STEP,
        EndReason,
        EnrollmentInput,
        EnrollmentState,
        EnrollmentStatusName,
        FinishEnrollmentInput,
        RemoveRequest,
        SendEmailInput,
        StepRecord,
    )
    from workflows.playbook import EmailStep

SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=["TemplateError", "InvalidRecipient"],
)
DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


@workflow.defn
class EnrollmentWorkflow:
    @workflow.init
    def __init__(self, inp: EnrollmentInput) -> None:
        self.inp = inp
        self.done: list[StepRecord] = list(inp.done)
        self.status: EnrollmentStatusName = "active"
        self.end_reason: EndReason | None = None
        self.removal: RemoveRequest | None = None
        self.current_step: str | None = None
        self.next_due_at: datetime | None = None
        self.tz = resolve_timezone(inp.person.timezone, inp.owner.timezone, inp.playbook.settings)

    @workflow.run
    async def run(self, inp: EnrollmentInput) -> EnrollmentState:
        started_at = inp.started_at or self._now()
        settings = inp.playbook.settings
        calendar = SendingCalendar(settings, frozenset(inp.holiday_dates))
        first_day = day_one(calendar, started_at, self.tz)
        steps = inp.playbook.steps

        for index in range(len(self.done), len(steps)):
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    inp.model_copy(update={"started_at": started_at, "done": self.done})
                )
            step = steps[index]
            eligible_at = self.done[-1].at if self.done else started_at
            due = planned_due(
                inp.playbook, calendar, index, self.tz, first_day, eligible_at, self._last_sent_at()
            )
            self.current_step, self.next_due_at = step.id, due
            if not await self._wait_until(due):
                break
            self.next_due_at = None
            if isinstance(step, EmailStep):
                self.done.append(await self._send(step))

        if self.removal is not None:
            self.status, self.end_reason = "removed", EndReason.removed
        else:
            self.status, self.end_reason = "completed", EndReason.finished
        self.current_step = self.next_due_at = None
        await workflow.execute_local_activity(
            finish_enrollment,
            FinishEnrollmentInput(
                workflow_id=workflow.info().workflow_id,
                enrollment_id=inp.enrollment_id,
                status=self.status,
                end_reason=self.end_reason,
                end_note=self.removal.note if self.removal else None,
                removed_by=self.removal.by_user_id if self.removal else None,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DB_RETRY,
        )
        workflow.upsert_search_attributes(
            [STATUS.value_set(self.status), END_REASON.value_set(self.end_reason.value)]
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def _wait_until(self, due: datetime) -> bool:
        """Wait for the due instant; False when the enrollment was removed meanwhile."""
        delay = due - self._now()
        if self.removal is None and delay > timedelta(0):
            # Operators see the step an enrollment waits on (a step due now is not indexed:
            # a visibility write per immediate step would halve throughput).
            workflow.upsert_search_attributes([STEP.value_set(self.current_step or "")])
            try:
                await workflow.wait_condition(
                    lambda: self.removal is not None,
                    timeout=delay,
                    timeout_summary=f"step {self.current_step} due",
                )
            except TimeoutError:
                pass
        return self.removal is None

    async def _send(self, step: EmailStep) -> StepRecord:
        inp = self.inp
        previous = self._last_email()
        try:
            result = await workflow.execute_activity(
                send_email,
                SendEmailInput(
                    workflow_id=workflow.info().workflow_id,
                    enrollment_id=inp.enrollment_id,
                    campaign_id=inp.campaign_id,
                    campaign_name=inp.campaign_name,
                    step_id=step.id,
                    step_day=step.day,
                    person_id=inp.person.id,
                    owner=inp.owner,
                    subject=step.subject,
                    body=step.body,
                    in_reply_to=previous.message_id if step.thread and previous else None,
                ),
                task_queue=SMTP_QUEUE,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=SEND_RETRY,
            )
        except ActivityError as err:
            cause = err.cause
            reason = cause.message if isinstance(cause, ApplicationError) else str(err)
            workflow.logger.warning("step %s not sent: %s", step.id, reason)
            return StepRecord(step_id=step.id, status="skipped", at=self._now(), reason=reason)
        return StepRecord(
            step_id=step.id,
            status=result.status,
            at=result.sent_at or self._now(),
            message_id=result.message_id,
            reason=result.reason,
        )

    def _now(self) -> datetime:
        """Workflow time; shifted only when `cadence playbook simulate` replays the past."""
        return workflow.now() + self.inp.clock_offset

    def _last_email(self) -> StepRecord | None:
        return next((r for r in reversed(self.done) if r.message_id), None)

    def _last_sent_at(self) -> datetime | None:
        last = self._last_email()
        return last.at if last else None

    @workflow.signal
    def remove(self, request: RemoveRequest) -> None:
        if self.removal is None and self.status == "active":
            self.removal = request

    @workflow.query
    def state(self) -> EnrollmentState:
        return EnrollmentState(
            enrollment_id=self.inp.enrollment_id,
            campaign_id=self.inp.campaign_id,
            person_id=self.inp.person.id,
            status=self.status,
            timezone=self.tz,
            current_step=self.current_step,
            next_due_at=self.next_due_at,
            end_reason=self.end_reason,
            end_note=self.removal.note if self.removal else None,
            steps=self.done,
        )
