"""InboundMailWorkflow (``inbound/{id}``): process one stored message and tell the running
enrollments it concerns. MailboxPollerWorkflow (``mailbox-poll/{address}``): read a mailbox's
new mail forever, remembering where it stopped, and start an InboundMailWorkflow per message;
the worker sends it a changed ``poll_seconds`` (``reconfigure``) or ``stop`` (the mailbox was
removed from the settings), taken at its next round.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.inbound import InboundActivities
    from cadence.domain.contracts import (
        IMAP_QUEUE,
        InboundMailInput,
        InboundMailResult,
        MailboxPollInput,
        MailboxPollResult,
        MailboxPollSettings,
    )
    from workflows.tell_enrollments import tell_enrollments

DB_RETRY = RetryPolicy(
    maximum_interval=timedelta(minutes=1), non_retryable_error_types=["NotFound"]
)
IMAP_RETRY = RetryPolicy(
    maximum_interval=timedelta(minutes=5), non_retryable_error_types=["NotConfigured"]
)
POLLS_PER_RUN = 200  # then continue-as-new, keeping the history short
# Guards the reconfigure and stop handlers: a signal that a worker of the code before them
# got (and ignored) is ignored again when the history is replayed.
SETTINGS_SIGNALS_PATCH = "settings-signals"


def inbound_workflow_id(inp: InboundMailInput) -> str:
    """``inbound/{id}-{digest}``: the digest keeps ids apart across databases."""
    return f"inbound/{inp.inbound_id}-{inp.sha256[:12]}"


def poller_workflow_id(address: str) -> str:
    return f"mailbox-poll/{address.lower()}"


@workflow.defn
class InboundMailWorkflow:
    @workflow.run
    async def run(self, inp: InboundMailInput) -> InboundMailResult:
        signals = await workflow.execute_activity_method(
            InboundActivities.process_inbound,
            inp,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=DB_RETRY,
        )
        told, gone = await tell_enrollments(signals)
        result = InboundMailResult(signalled=told, gone=gone)
        return result


@workflow.defn
class MailboxPollerWorkflow:
    def __init__(self) -> None:
        self.cursor: MailboxPollInput | None = None
        self.new_settings: MailboxPollSettings | None = None
        self.stopping = False

    @workflow.query
    def position(self) -> MailboxPollInput | None:
        """Where the poller stands: UIDVALIDITY, the last UID read, polls in this run, and the
        poll interval it uses."""
        return self.cursor

    @workflow.signal
    def reconfigure(self, settings: MailboxPollSettings) -> None:
        """New settings from the worker, used from the next poll on (which comes at once);
        undoes a ``stop`` not yet acted on."""
        if workflow.patched(SETTINGS_SIGNALS_PATCH):
            self.new_settings, self.stopping = settings, False

    @workflow.signal
    def stop(self) -> None:
        """End after the current poll: the mailbox was removed from the settings."""
        if workflow.patched(SETTINGS_SIGNALS_PATCH):
            self.stopping = True

    def _apply_settings(self, inp: MailboxPollInput) -> MailboxPollInput:
        if self.new_settings is not None:
            inp = inp.model_copy(update=self.new_settings.model_dump())
            self.new_settings = None
        self.cursor = inp
        return inp

    @workflow.run
    async def run(self, inp: MailboxPollInput) -> None:
        self.cursor = inp
        for _ in range(POLLS_PER_RUN):
            if self.stopping:
                workflow.logger.info("poller for %s stops: no longer configured", inp.mailbox)
                return
            inp = self._apply_settings(inp)
            result: MailboxPollResult = await workflow.execute_activity_method(
                InboundActivities.poll_mailbox,
                inp,
                task_queue=IMAP_QUEUE,
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=IMAP_RETRY,
            )
            for message in result.stored:
                try:
                    await workflow.start_child_workflow(
                        InboundMailWorkflow.run,
                        message,
                        id=inbound_workflow_id(message),
                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                        parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                    )
                except WorkflowAlreadyStartedError:
                    pass  # the API or an earlier poll started it
            inp = MailboxPollInput(
                mailbox=inp.mailbox,
                uidvalidity=result.uidvalidity,
                last_uid=result.last_uid,
                polls=inp.polls + 1,
                poll_seconds=inp.poll_seconds,
            )
            self.cursor = inp
            try:  # a timer, as workflow.sleep; new settings or a stop end it early
                await workflow.wait_condition(
                    lambda: self.new_settings is not None or self.stopping,
                    timeout=timedelta(seconds=inp.poll_seconds),
                )
            except TimeoutError:
                pass
        if self.stopping:
            return
        workflow.continue_as_new(self._apply_settings(inp))
