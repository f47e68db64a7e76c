"""What the schedule-driven workflows share (the people, opt-out and task syncs, the
enrollment sweep): a fixed workflow id with its schedule's id beside it, and one long
activity that heartbeats, retried with backoff (never when its integration is not
configured). Each workflow keeps its own name, input and result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TypedDict

from temporalio.common import RetryPolicy


class ActivityOptions(TypedDict):
    task_queue: str
    start_to_close_timeout: timedelta
    heartbeat_timeout: timedelta
    retry_policy: RetryPolicy


@dataclass(frozen=True)
class Scheduled:
    workflow_id: str  # one run at a time: a schedule's next start waits for it
    task_queue: str  # its activity's
    timeout: timedelta  # the activity's start-to-close
    heartbeat: timedelta
    max_interval: timedelta  # between retries
    max_attempts: int = 0  # 0: retried until the timeout
    non_retryable: tuple[str, ...] = ("NotConfigured",)

    @property
    def schedule_id(self) -> str:
        return f"{self.workflow_id}-schedule"

    def activity_options(self) -> ActivityOptions:
        """For ``workflow.execute_activity(activity, inp, **options)``."""
        return ActivityOptions(
            task_queue=self.task_queue,
            start_to_close_timeout=self.timeout,
            heartbeat_timeout=self.heartbeat,
            retry_policy=RetryPolicy(
                maximum_interval=self.max_interval,
                maximum_attempts=self.max_attempts,
                non_retryable_error_types=list(self.non_retryable) or None,
            ),
        )
