"""Sending sales email: the activity, delegating to the sending service
(cadence/services/email/send.py), which sends each (enrollment, step) exactly once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import activity

from cadence.domain.contracts import SendEmailInput, SendEmailResult

if TYPE_CHECKING:
    from cadence.services.email.send import EmailSender


class EmailActivities:
    def __init__(self, sender: EmailSender) -> None:
        self.sender = sender

    @activity.defn
    def send_email(self, inp: SendEmailInput) -> SendEmailResult:
        """Synchronous: runs on the SMTP worker's thread pool (see worker.py)."""
        return self.sender.send(inp, activity.heartbeat)
