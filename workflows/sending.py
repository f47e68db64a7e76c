"""Sending one email from a workflow: the send_email activity with its options, shared by
enrollments and one-off sales emails."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.email import EmailActivities
    from cadence.domain.contracts import SMTP_QUEUE, SendEmailInput, SendEmailResult

SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=[
        "TemplateError",
        "InvalidRecipient",
        "InvalidAttachment",
        "SmtpRejected",
    ],
)


async def send(inp: SendEmailInput) -> SendEmailResult:
    """Raises ActivityError when the email cannot go (its cause says why).

    A dead worker's send is retried after the heartbeat timeout (a small email takes well
    under a second; big ones heartbeat); the send's lease, not these timeouts, keeps a retry
    from sending a second copy."""
    return await workflow.execute_activity_method(
        EmailActivities.send_email,
        inp,
        task_queue=SMTP_QUEUE,
        start_to_close_timeout=timedelta(minutes=10),
        heartbeat_timeout=timedelta(seconds=20),
        retry_policy=SEND_RETRY,
    )
