"""Salesforce opt-outs brought back: the activity, delegating to cadence/services/optout.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import activity

from cadence.domain.contracts import OptOutSyncInput, OptOutSyncResult

if TYPE_CHECKING:
    from cadence.services.optout import OptOutSync


class OptOutActivities:
    def __init__(self, opt_outs: OptOutSync) -> None:
        self.opt_outs = opt_outs

    @activity.defn
    async def sync_opt_outs_from_salesforce(self, inp: OptOutSyncInput) -> OptOutSyncResult:
        """Read the opted-out Leads and Contacts and unsubscribe them here; returns whom to tell."""
        return await self.opt_outs.sync_from_salesforce(inp, activity.heartbeat)
