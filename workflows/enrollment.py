"""EnrollmentWorkflow: one durable run per (campaign, person) that works through the playbook."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    import pendulum

    from activities.enrollments import EnrollmentActivities
    from activities.tasks import TaskActivities
    from cadence.domain.calendar import (
        ZONE_REASONS,
        SendingCalendar,
        day_one,
        planned_due,
        resolve_zone,
    )
    from cadence.domain.contracts import (
        CAMPAIGN_VERSION,
        END_REASON,
        ENROLLMENT_STATUS,
        RUNNING_STATUSES,
        STEP,
        CloseTaskInput,
        CreateTaskInput,
        EndReason,
        EnrollmentInput,
        EnrollmentRunState,
        EnrollmentState,
        EnrollmentStatus,
        FinishEnrollmentInput,
        InboundEvent,
        LocationChange,
        MarkSuccessRequest,
        MigrateRequest,
        PauseRequest,
        RecordStatusInput,
        RemoveRequest,
        RescheduleRequest,
        ResumeRequest,
        SendEmailInput,
        SkipStepRequest,
        StepRecord,
        TaskDone,
        TaskStatus,
        TimelineEntry,
    )
    from cadence.domain.playbook import EmailStep, TaskStep
    from cadence.domain.templates import template_problems
    from workflows.sending import send

DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))

# A pause or a resume is written to the enrollment's database row (a local activity: a new
# command, so enrollments that paused before this replay without it).
STATUS_IN_DATABASE_PATCH = "enrollment-status-in-database"
# The person's zone and country can change while the enrollment runs (change_location).
LOCATION_PATCH = "enrollment-location-change"


def _local(moment: datetime, tz: str, fmt: str) -> str:
    # strftime, not pendulum's format(): that imports locale modules inside the sandbox.
    return pendulum.instance(moment).in_tz(tz).strftime(fmt)


@workflow.defn
class EnrollmentWorkflow:
    @workflow.init
    def __init__(self, inp: EnrollmentInput) -> None:
        self.inp = inp
        # Everything the run carries (whole, through continue-as-new).
        self.st: EnrollmentRunState = inp.run_state()
        # The rest is this run's own, or derived from the input.
        # What the row says: a fresh row, active; after continue-as-new, not known (a pause
        # may have come while the last run ended): written once.
        fresh = inp.state is None and inp.started_at is None
        self.status_in_database: EnrollmentStatus | None = self.st.status if fresh else None
        self.status_recorder: asyncio.Task[None] | None = None
        self.finishing = False  # no more status writes: the run is ending
        self.tz, self.tz_source = resolve_zone(
            inp.person.timezone, inp.person.timezone_source, inp.owner.timezone,
            inp.playbook.settings,
        )  # fmt: skip
        self.calendar = SendingCalendar(inp.playbook.settings, frozenset(inp.holiday_dates))
        self.first_day = date.min  # Day 1, in the lead's zone (set when the run starts)

    @workflow.run
    async def run(self, inp: EnrollmentInput) -> EnrollmentState:
        started_at = self.st.started_at or self._now()
        self.st.started_at = started_at
        self.status_recorder = asyncio.create_task(self._record_status_changes())

        self.first_day = day_one(self.calendar, started_at, self.tz)

        while True:
            self._apply_migration()
            steps = self.inp.playbook.steps
            next_index = self._next_index()
            if next_index is None:
                break
            index = next_index
            if self._ended():
                break
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._ended():  # a handler may have ended it meanwhile
                    await self._stop_recording_status()
                if not self._ended():
                    workflow.continue_as_new(self.inp.continued(self.st))
            step = steps[index]
            outcome = "paused"
            while outcome in ("paused", "rescheduled"):
                self._apply_location()
                eligible_at = self.st.done[-1].at if self.st.done else started_at
                due = planned_due(
                    self.inp.playbook, self.calendar, index, self.tz, self.first_day,
                    eligible_at, self._last_sent_at(), self.st.day_shift,
                )  # fmt: skip
                if step.id in self.st.rescheduled:
                    due = self.calendar.into_window(self.st.rescheduled[step.id], self.tz)
                self.st.current_step, self.st.next_due_at = step.id, due
                self._describe()
                outcome = await self._wait_until(due)
                if outcome == "paused":
                    self.st.next_due_at = None
                    await self._wait_while_paused()
            if outcome == "ended":
                break
            self.st.next_due_at = None
            if outcome == "skipped":
                self.st.skip_requested = False
                self._record(
                    StepRecord(step_id=step.id, status="skipped", at=self._now(),
                               reason="skipped by the rep", type=step.type, day=step.day)
                )  # fmt: skip
                continue
            blocked: str | None = None
            if isinstance(step, EmailStep) and step.type == "auto_email":
                record: StepRecord | None = await self._send(step)
                blocked, self.st.blocked_reason = self.st.blocked_reason, None
            if blocked is not None or not (
                isinstance(step, EmailStep) and step.type == "auto_email"
            ):
                # A task step, a manual email, or an automatic email that cannot go out as
                # written (a missing field): the rep gets a task, never a mail with a hole.
                record = await self._do_task(step, due, blocked=blocked)
                self.st.blocked_reason = None
                if record is None:  # removed while the task was open
                    break
            assert record is not None
            self._record(record)

        await self._stop_recording_status()
        completed = EnrollmentStatus.completed
        if self.st.removal is not None:
            self.st.status, self.st.end_reason = EnrollmentStatus.removed, EndReason.removed
        elif self.st.inbound_end is not None:
            self.st.status, self.st.end_reason = completed, self.st.inbound_end
        elif self.st.success is not None:
            self.st.status, self.st.end_reason = completed, EndReason.success
        else:
            self.st.status, self.st.end_reason = completed, EndReason.finished
        self.st.current_step = self.st.next_due_at = None
        await workflow.execute_local_activity_method(
            EnrollmentActivities.finish_enrollment,
            FinishEnrollmentInput(
                workflow_id=workflow.info().workflow_id,
                enrollment_id=inp.enrollment_id,
                status=self.st.status,
                end_reason=self.st.end_reason,
                end_note=self._end_note(),
                removed_by=self.st.removal.by_user_id if self.st.removal else None,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DB_RETRY,
        )
        # Search attributes are not compared on replay: enrollments that started setting
        # `Status` set EnrollmentStatus from their next change on. An ended enrollment waits
        # for no step.
        workflow.upsert_search_attributes(
            [
                ENROLLMENT_STATUS.value_set(self.st.status.value),
                END_REASON.value_set(self.st.end_reason.value),
                STEP.value_unset(),
            ]
        )
        self._describe()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    def _set_status(self, status: EnrollmentStatus) -> None:
        """A running enrollment's status (active or paused): searchable at once, written to
        its database row by the status recorder."""
        self.st.status = status
        workflow.upsert_search_attributes([ENROLLMENT_STATUS.value_set(status.value)])

    async def _record_status_changes(self) -> None:
        """Write each pause and resume to the enrollment's row (a local activity), so the
        database says what the workflow says; the end is written by finish_enrollment."""
        while True:
            await workflow.wait_condition(
                lambda: self.finishing or self.st.status != self.status_in_database
            )
            if self.finishing:
                return
            status = self.st.status
            if workflow.patched(STATUS_IN_DATABASE_PATCH):
                await workflow.execute_local_activity_method(
                    EnrollmentActivities.record_enrollment_status,
                    RecordStatusInput(enrollment_id=self.inp.enrollment_id, status=status),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=DB_RETRY,
                )
            self.status_in_database = status

    async def _stop_recording_status(self) -> None:
        """The run ends (or continues as new): let a status write in flight finish first."""
        self.finishing = True
        if self.status_recorder is not None:
            await self.status_recorder

    def _describe(self) -> None:
        """The line operators read in the Temporal UI (current details)."""
        steps = self.inp.playbook.steps
        sent = [r.step_id for r in self.st.done if r.status == "sent"]
        progress = f"{len(self.st.done)} of {len(steps)} steps done"
        if sent:
            progress += f" (sent: {', '.join(sent)})"
        if self.st.status in ("completed", "removed"):
            reason = self.st.end_reason.value if self.st.end_reason else self.st.status
            text = f"**{self.st.status.capitalize()}** ({reason}). {progress}."
        elif self.st.paused_at is not None:
            since = _local(self.st.paused_at, self.tz, "%Y-%m-%d %H:%M %Z")
            note = f" ({self.st.pause_note})" if self.st.pause_note else ""
            text = (
                f"**Paused** since {since}{note}; next step `{self.st.current_step}`. {progress}."
            )
        elif self.st.open_task is not None:
            text = f"**Task open**: step `{self.st.open_task}` waits for the rep. {progress}."
        elif self.st.current_step is not None and self.st.next_due_at is not None:
            step = next(s for s in steps if s.id == self.st.current_step)
            due = _local(self.st.next_due_at, self.tz, "%a %Y-%m-%d %H:%M %Z")
            text = (
                f"**Waiting** for step `{step.id}` ({step.type}, Day {step.day}), due {due}"
                f" ({self.tz}, {ZONE_REASONS.get(self.tz_source, self.tz_source)}). {progress}."
            )
        else:
            text = f"**Active**. {progress}."
        workflow.set_current_details(text)

    def _record(self, record: StepRecord) -> None:
        """A step done, with the zone it was done in."""
        zone = {"timezone": self.tz, "timezone_source": self.tz_source}
        self.st.done.append(record.model_copy(update=zone))

    @workflow.signal
    def change_location(self, change: LocationChange) -> None:
        """The person's zone or country changed (a rep's override, a sync): taken at the next
        step boundary. A wait for a step ends, and its due time is computed again in the new
        zone; a step already done stays as it was."""
        pending = self.st.location_change.version if self.st.location_change else 0
        if change.version <= max(self.inp.location_version, pending):
            return  # older news than what the enrollment has (signals may cross)
        if self._ended() or self.st.status not in RUNNING_STATUSES:
            return
        self.st.location_change = change
        self.st.interrupts += 1

    def _apply_location(self) -> None:
        """At a step boundary, take the person's new zone, country and holidays. Day 1 is
        counted again from the start date in the new zone."""
        change, self.st.location_change = self.st.location_change, None
        if change is None or not workflow.patched(LOCATION_PATCH):
            return
        self.inp = _located(self.inp, change)
        person = self.inp.person
        self.tz, self.tz_source = resolve_zone(
            person.timezone, person.timezone_source, self.inp.owner.timezone,
            self.inp.playbook.settings,
        )  # fmt: skip
        self.calendar = SendingCalendar(
            self.inp.playbook.settings, frozenset(self.inp.holiday_dates)
        )
        if self.st.started_at is not None:
            self.first_day = day_one(self.calendar, self.st.started_at, self.tz)
        workflow.logger.info("location %s: zone %s (%s)", change.version, self.tz, self.tz_source)

    def _next_index(self) -> int | None:
        """The next step to run: the first one after the last step done (by id, so a
        migrated playbook continues where the old one was) that is not done yet."""
        remaining = self._remaining_indexes()
        return remaining[0] if remaining else None

    def _apply_migration(self) -> None:
        """At a step boundary, switch to the version an author migrated this enrollment to."""
        if self.st.migration is None:
            return
        request, self.st.migration = self.st.migration, None
        self.inp = self.inp.model_copy(
            update={"playbook": request.playbook, "campaign_version": request.version}
        )
        self.calendar = SendingCalendar(
            request.playbook.settings, frozenset(self.inp.holiday_dates)
        )
        workflow.upsert_search_attributes([CAMPAIGN_VERSION.value_set(request.version)])

    @workflow.update
    def migrate(self, request: MigrateRequest) -> EnrollmentState:
        """Take another version of the campaign from the next step on (steps map by id)."""
        self.st.migration = request
        return self.state()

    @migrate.validator
    def _can_migrate(self, request: MigrateRequest) -> None:
        if self.st.status not in RUNNING_STATUSES or self._ended():
            raise ValueError(f"the enrollment is {self.st.status}")
        if request.version == self.inp.campaign_version:
            raise ValueError(f"the enrollment is on version {request.version} already")

    def _ended(self) -> bool:
        return (
            self.st.removal is not None
            or self.st.success is not None
            or self.st.inbound_end is not None
        )

    async def _wait_while_paused(self) -> None:
        """Until resumed (or ended); an out-of-office pause resumes by itself."""
        timeout = None
        if self.st.auto_resume_at is not None:
            timeout = max(self.st.auto_resume_at - self._now(), timedelta(0))
        try:
            await workflow.wait_condition(
                lambda: self.st.paused_at is None or self._ended(),
                timeout=timeout,
                timeout_summary="back from out-of-office" if timeout is not None else None,
            )
        except TimeoutError:
            self._resume()

    @workflow.signal
    def inbound(self, event: InboundEvent) -> None:
        """A reply ends the enrollment (``on_reply``), as do an unsubscribe and, with
        ``remove_on_bounce``, a bounce. An out-of-office answer never ends it; with
        ``pause_until_return`` it pauses until the next sending morning after the return date
        (``default_days`` without one, never more than ``max_days``)."""
        if self._ended() or self.st.status not in RUNNING_STATUSES:
            return
        settings = self.inp.playbook.settings
        if event.kind == "reply":
            success = settings.on_reply == "end_success"
            self.st.inbound_end = EndReason.replied_success if success else EndReason.replied
        elif event.kind == "unsubscribe":
            self.st.inbound_end = EndReason.unsubscribed
        elif event.kind == "bounce" and settings.remove_on_bounce:
            self.st.inbound_end = EndReason.bounced
        elif event.kind == "out_of_office" and settings.on_ooo.action == "pause_until_return":
            self._pause_until_return(event.return_date)
        self.st.interrupts += 1

    def _pause_until_return(self, return_date: date | None) -> None:
        ooo = self.inp.playbook.settings.on_ooo
        today = pendulum.instance(self._now()).in_tz(self.tz).date()
        back = return_date or today + timedelta(days=ooo.default_days)
        back = min(back, today + timedelta(days=ooo.max_days))
        first_day = self.calendar.first_sending_day(max(back, today + timedelta(days=1)))
        opening = self.inp.playbook.settings.send_window.start
        self.st.auto_resume_at = pendulum.datetime(
            first_day.year, first_day.month, first_day.day, opening.hour, opening.minute,
            tz=self.tz,
        )  # fmt: skip
        if self.st.paused_at is None:
            self.st.paused_at = self._now()
            self.st.pause_note = f"out of office until {back.isoformat()}"
            self._set_status(EnrollmentStatus.paused)
        self._describe()

    def _end_note(self) -> str | None:
        if self.st.removal is not None:
            return self.st.removal.note
        return self.st.success.note if self.st.success is not None else None

    async def _wait_until(self, due: datetime) -> str:
        """Wait for the due instant: "due", or what an operator did first: "ended",
        "paused", "skipped" or "rescheduled"."""
        delay = due - self._now()
        seen = self.st.interrupts
        if not self._ended() and self.st.paused_at is None and delay > timedelta(0):
            # Operators see the step an enrollment waits on (a step due now is not indexed:
            # a visibility write per immediate step would halve throughput).
            workflow.upsert_search_attributes([STEP.value_set(self.st.current_step or "")])
            try:
                await workflow.wait_condition(
                    lambda: (
                        self._ended() or self.st.paused_at is not None or self.st.interrupts != seen
                    ),
                    timeout=delay,
                    timeout_summary=f"step {self.st.current_step} due",
                )
            except TimeoutError:
                pass
        if self._ended():
            return "ended"
        if self.st.paused_at is not None:
            return "paused"
        if self.st.skip_requested:
            return "skipped"
        return "rescheduled" if self.st.interrupts != seen else "due"

    async def _send(
        self,
        step: EmailStep,
        subject: str | None = None,
        body: str | None = None,
        done: TaskDone | None = None,
    ) -> StepRecord:
        """Send an email step; a manual email goes with the rep's subject and body."""
        inp = self.inp
        previous = self._last_email()
        try:
            result = await send(
                SendEmailInput(
                    workflow_id=workflow.info().workflow_id,
                    enrollment_id=inp.enrollment_id,
                    campaign_id=inp.campaign_id,
                    campaign_name=inp.campaign_name,
                    step_id=step.id,
                    step_day=step.day,
                    person_id=inp.person.id,
                    owner=inp.owner,
                    subject=subject if subject is not None else step.subject,
                    body=body if body is not None else step.body,
                    in_reply_to=previous.message_id if step.thread and previous else None,
                    cc=[*step.cc, *(done.cc if done else [])],
                    bcc=[*step.bcc, *(done.bcc if done else [])],
                    attachment_ids=done.attachment_ids if done else [],
                    commercial=not step.non_commercial,
                )
            )
        except ActivityError as err:
            cause = err.cause
            reason = cause.message if isinstance(cause, ApplicationError) else str(err)
            workflow.logger.warning("step %s not sent: %s", step.id, reason)
            if isinstance(cause, ApplicationError) and cause.type == "TemplateError":
                self.st.blocked_reason = reason
            return StepRecord(step_id=step.id, status="skipped", at=self._now(), reason=reason,
                              type=step.type, day=step.day)  # fmt: skip
        settings = inp.playbook.settings
        if result.guard == "unsubscribed":
            self.st.inbound_end = EndReason.unsubscribed
        elif result.guard == "bounced_before" and settings.remove_on_bounce:
            self.st.inbound_end = EndReason.bounced
        return StepRecord(
            step_id=step.id,
            status=result.status,
            at=result.sent_at or self._now(),
            message_id=result.message_id,
            reason=result.reason,
            type=step.type,
            day=step.day,
        )

    async def _do_task(
        self, step: TaskStep | EmailStep, due: datetime, blocked: str | None = None
    ) -> StepRecord | None:
        """Create the rep's task, wait until it is completed or skipped (or auto-skipped),
        record how it ended. A task completed k sending days after the day it fell due moves
        every later step k sending days later; a manual email is sent when the rep completes
        it. None when the enrollment was removed first."""
        inp = self.inp
        workflow_id = workflow.info().workflow_id
        title: str
        notes: str | None
        limit: timedelta | None = None
        task_type = step.type
        if isinstance(step, EmailStep):  # manual email: the draft is the task
            title = f"Email: {step.subject}" if step.subject else "Email: reply in the thread"
            notes, priority = step.body, "normal"
            if blocked is not None:
                task_type, priority = "manual_email", "high"
                title = f"Fix and send: {step.subject or 'reply in the thread'}"
                notes = f"Not sent automatically: {blocked}.\n\n{step.body}"
        else:
            title, notes, priority = step.title, step.notes, step.priority
            limit = step.autoskip_delay()
        created = await workflow.execute_activity_method(
            TaskActivities.create_task,
            CreateTaskInput(
                workflow_id=workflow_id,
                enrollment_id=inp.enrollment_id,
                campaign_name=inp.campaign_name,
                step_id=step.id,
                type=task_type,
                title=title,
                notes=notes,
                priority=priority,
                person_id=inp.person.id,
                owner_id=inp.owner.id,
                due_at=due,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DB_RETRY,
        )
        self.st.open_task, self.st.task_done, self.st.open_task_due = step.id, created.done, due
        self._describe()
        try:
            await workflow.wait_condition(
                lambda: self.st.task_done is not None or self._ended(),
                timeout=limit,
                timeout_summary=f"auto-skip task {step.id}" if limit else None,
            )
        except TimeoutError:
            after = step.autoskip_after if isinstance(step, TaskStep) else None
            self.st.task_done = TaskDone(
                step_id=step.id, status="skipped", notes=f"auto-skipped after {after}"
            )
        done, closed_at = self.st.task_done, self._now()
        self.st.open_task, self.st.task_done = None, None
        await workflow.execute_activity_method(
            TaskActivities.close_task,
            CloseTaskInput(
                task_id=created.task_id,
                workflow_id=workflow_id,
                status=done.status if done else TaskStatus.cancelled,
                outcome=done.outcome if done else None,
                notes=done.notes if done else None,
                closed_at=closed_at,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DB_RETRY,
        )
        if done is None:
            return None
        if done.status == "completed":
            due_day = pendulum.instance(due).in_tz(self.tz).date()
            done_day = pendulum.instance(closed_at).in_tz(self.tz).date()
            self.st.day_shift += self.calendar.sending_days_between(due_day, done_day)
            if isinstance(step, EmailStep):
                return await self._send(step, done.subject, done.body, done)
        return StepRecord(
            step_id=step.id, status=done.status, at=closed_at, reason=done.outcome or done.notes,
            type=step.type, day=step.day,
        )  # fmt: skip

    @workflow.update
    def complete_task(self, done: TaskDone) -> EnrollmentState:
        """The rep completed (or skipped) the open task."""
        self.st.task_done = done
        return self.state()

    @complete_task.validator
    def _can_complete_task(self, done: TaskDone) -> None:
        if self.st.open_task is None or self.st.task_done is not None:
            raise ValueError("this enrollment has no open task")
        if done.step_id != self.st.open_task:
            raise ValueError(
                f"the open task is for step {self.st.open_task!r}, not {done.step_id!r}"
            )
        step = next(s for s in self.inp.playbook.steps if s.id == done.step_id)
        if isinstance(step, EmailStep) and done.status == "completed":
            body = done.body if done.body is not None else step.body
            subject = done.subject if done.subject is not None else (step.subject or "")
            for text in (subject, body):
                problems = template_problems(text, prompts_allowed=False)
                if problems:
                    raise ValueError(f"fill in the email before sending: {problems[0]}")

    def _now(self) -> datetime:
        """Workflow time; shifted only when `cadence playbook simulate` replays the past."""
        return workflow.now() + self.inp.clock_offset

    def _last_email(self) -> StepRecord | None:
        return next((r for r in reversed(self.st.done) if r.message_id), None)

    def _last_sent_at(self) -> datetime | None:
        last = self._last_email()
        return last.at if last else None

    def _check_waiting_for(self, step_id: str) -> None:
        if self.st.status != "active" or self._ended():
            raise ValueError(f"the enrollment is {self.st.status}, not waiting for a step")
        if self.st.open_task is not None:
            raise ValueError(
                f"step {self.st.open_task!r} is an open task: complete or skip the task"
            )
        if step_id != self.st.current_step or self.st.next_due_at is None:
            raise ValueError(
                f"the enrollment waits for step {self.st.current_step!r}, not {step_id!r}"
            )

    @workflow.update
    def skip_step(self, request: SkipStepRequest) -> EnrollmentState:
        """Skip the step the enrollment waits for; the next one is planned from now."""
        self.st.skip_requested = True
        self.st.interrupts += 1
        return self.state()

    @skip_step.validator
    def _can_skip_step(self, request: SkipStepRequest) -> None:
        self._check_waiting_for(request.step_id)

    @workflow.update
    def reschedule(self, request: RescheduleRequest) -> EnrollmentState:
        """Move the waiting step to another instant (kept inside the send window)."""
        self.st.rescheduled[request.step_id] = request.at
        self.st.next_due_at = self.calendar.into_window(request.at, self.tz)
        self.st.interrupts += 1
        return self.state()

    @reschedule.validator
    def _can_reschedule(self, request: RescheduleRequest) -> None:
        self._check_waiting_for(request.step_id)
        if request.at.tzinfo is None:
            raise ValueError("the new time needs a UTC offset")
        if request.at <= self._now():
            raise ValueError("the new time is in the past")

    @workflow.update
    def mark_success(self, request: MarkSuccessRequest) -> EnrollmentState:
        """End the enrollment as a success: no more steps."""
        self.st.success = request
        self.st.interrupts += 1
        return self.state()

    @mark_success.validator
    def _can_mark_success(self, request: MarkSuccessRequest) -> None:
        if self.st.status not in RUNNING_STATUSES or self._ended():
            raise ValueError(f"the enrollment is {self.st.status}")

    @workflow.signal
    def remove(self, request: RemoveRequest) -> None:
        if not self._ended() and self.st.status in RUNNING_STATUSES:
            self.st.removal = request

    @workflow.update
    def pause(self, request: PauseRequest) -> EnrollmentState:
        """Hold every remaining step until resumed (the step in flight, if any, finishes)."""
        self.st.paused_at, self.st.pause_note = self._now(), request.note
        self._set_status(EnrollmentStatus.paused)
        self._describe()
        return self.state()

    @pause.validator
    def _can_pause(self, request: PauseRequest) -> None:
        if self.st.status != "active" or self._ended():
            raise ValueError(
                f"only an active enrollment can be paused; this one is {self.st.status}"
            )

    @workflow.update
    def resume(self, request: ResumeRequest) -> EnrollmentState:
        """Go on; every remaining step moves by the sending days the pause lasted."""
        self._resume()
        return self.state()

    def _resume(self) -> None:
        assert self.st.paused_at is not None
        paused_on = pendulum.instance(self.st.paused_at).in_tz(self.tz).date()
        today = pendulum.instance(self._now()).in_tz(self.tz).date()
        self.st.day_shift += self.calendar.sending_days_between(paused_on, today)
        self.st.paused_at, self.st.pause_note = None, None
        self.st.auto_resume_at = None
        self._set_status(EnrollmentStatus.active)
        self._describe()

    @resume.validator
    def _can_resume(self, request: ResumeRequest) -> None:
        if self.st.status != "paused" or self._ended():
            raise ValueError(
                f"only a paused enrollment can be resumed; this one is {self.st.status}"
            )

    @workflow.query
    def timeline(self) -> list[TimelineEntry]:
        """Every step: what happened and when, and for the rest when it is planned (assuming
        each step is done the moment it falls due). Done steps are labelled by their own
        record (by id), so a migration that dropped or moved them changes nothing here."""
        steps = self.inp.playbook.steps
        by_id = {s.id: s for s in steps}
        entries = []
        for r in self.st.done:
            step = by_id.get(r.step_id)  # for records made before they kept type and day
            entries.append(
                TimelineEntry(
                    step_id=r.step_id,
                    type=r.type or (step.type if step else "unknown"),
                    day=r.day if r.type else (step.day if step else None),
                    status=r.status,
                    at=r.at,
                    reason=r.reason,
                    timezone=r.timezone,
                    timezone_source=r.timezone_source,
                )
            )
        ended = self.st.status in ("completed", "removed") or self.st.removal is not None
        start = self.st.started_at or self._now()
        first_day = day_one(self.calendar, start, self.tz)
        last_email = self._last_sent_at()
        previous = self.st.done[-1].at if self.st.done else start
        for index in self._remaining_indexes():
            step = steps[index]
            entry = TimelineEntry(
                step_id=step.id, type=step.type, day=step.day, status="planned",
                timezone=self.tz, timezone_source=self.tz_source,
            )  # fmt: skip
            if ended:
                entry.status = "not_reached"
            elif step.id == self.st.open_task:
                entry.status, entry.at = "task_open", self.st.open_task_due
            elif step.id == self.st.current_step and self.st.next_due_at is not None:
                entry.status, entry.at = "due", self.st.next_due_at
            else:
                entry.at = planned_due(
                    self.inp.playbook, self.calendar, index, self.tz, first_day,
                    max(previous, self._now()), last_email, self.st.day_shift,
                )  # fmt: skip
            if entry.at is not None:
                previous = entry.at
                if isinstance(step, EmailStep):
                    last_email = entry.at
            entries.append(entry)
        return entries

    def _remaining_indexes(self) -> list[int]:
        """The steps still to run, in order (as _next_index picks them one after another)."""
        steps = self.inp.playbook.steps
        done_ids = {r.step_id for r in self.st.done}
        last = max((i for i, s in enumerate(steps) if s.id in done_ids), default=-1)
        return [i for i in range(last + 1, len(steps)) if steps[i].id not in done_ids]

    @workflow.query
    def state(self) -> EnrollmentState:
        return EnrollmentState(
            enrollment_id=self.inp.enrollment_id,
            campaign_id=self.inp.campaign_id,
            person_id=self.inp.person.id,
            status=self.st.status,
            timezone=self.tz,
            timezone_source=self.tz_source,
            country=self.inp.person.country,
            country_source=self.inp.person.country_source,
            current_step=self.st.current_step,
            next_due_at=self.st.next_due_at,
            end_reason=self.st.end_reason,
            end_note=self._end_note(),
            paused_at=self.st.paused_at,
            pause_note=self.st.pause_note if self.st.paused_at else None,
            resumes_at=self.st.auto_resume_at if self.st.paused_at else None,
            day_shift=self.st.day_shift,
            open_task=self.st.open_task,
            steps=self.st.done,
        )


def _located(inp: EnrollmentInput, change: LocationChange) -> EnrollmentInput:
    """The enrollment's input with the person's new zone, country and holidays."""
    person = inp.person.model_copy(
        update={
            "timezone": change.timezone,
            "timezone_source": change.timezone_source,
            "country": change.country,
            "country_source": change.country_source,
        }
    )
    update = {"person": person, "holiday_dates": change.holiday_dates}
    return inp.model_copy(update={**update, "location_version": change.version})
