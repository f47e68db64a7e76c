"""Inbound mail: the activities (process a stored message; fetch new mail from an IMAP inbox),
delegating to cadence/services/inbound.py and cadence/services/inbound_imap.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import activity
from temporalio.exceptions import ApplicationError

from cadence.domain.contracts import (
    InboundMailInput,
    InboundSignal,
    MailboxPollInput,
    MailboxPollResult,
)

if TYPE_CHECKING:
    from cadence.services.inbound import InboundMail
    from cadence.services.inbound_imap import MailboxReader


class InboundActivities:
    def __init__(self, inbound: InboundMail, mailboxes: MailboxReader) -> None:
        self.inbound = inbound
        self.mailboxes = mailboxes

    @activity.defn
    async def process_inbound(self, inp: InboundMailInput) -> list[InboundSignal]:
        """Classify, match and record one stored message; returns whom to tell (idempotent)."""
        try:
            return await self.inbound.process(inp.inbound_id)
        except LookupError as err:
            raise ApplicationError(str(err), type="NotFound", non_retryable=True) from err

    @activity.defn
    async def poll_mailbox(self, inp: MailboxPollInput) -> MailboxPollResult:
        """Fetch and store the mail that arrived since the last poll (the IMAP queue)."""
        return await self.mailboxes.poll(inp, activity.heartbeat)
