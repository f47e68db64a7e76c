"""Shipping the activity log: the activities, delegating to cadence/services/shipping.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import activity

from cadence.domain.contracts import ShipBatchInput, ShipBatchResult

if TYPE_CHECKING:
    from cadence.services.shipping import Shipping


class ShippingActivities:
    def __init__(self, shipping: Shipping) -> None:
        self.shipping = shipping

    @activity.defn
    async def ship_to_marketo(self, inp: ShipBatchInput) -> ShipBatchResult:
        """The next rows as Marketo custom activities."""
        return await self.shipping.to_marketo(inp)

    @activity.defn
    async def ship_to_salesforce(self, inp: ShipBatchInput) -> ShipBatchResult:
        """The next rows as Salesforce Tasks (and opt-outs)."""
        return await self.shipping.to_salesforce(inp)
