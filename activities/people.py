"""People from Marketo: the activities, delegating to cadence/services/people.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import activity

from cadence.domain.contracts import (
    LocationNotices,
    LocationNoticesInput,
    PeopleSyncInput,
    PeopleSyncResult,
)

if TYPE_CHECKING:
    from cadence.services.people import PeopleSync


class PeopleActivities:
    def __init__(self, people: PeopleSync) -> None:
        self.people = people

    @activity.defn
    async def sync_people_from_marketo(self, inp: PeopleSyncInput) -> PeopleSyncResult:
        """New and changed people from Marketo (the first sync: everyone)."""
        return await self.people.sync_from_marketo(inp, activity.heartbeat)

    @activity.defn
    async def location_notices(self, inp: LocationNoticesInput) -> LocationNotices:
        """The running enrollments to tell about their person's new zone or country."""
        return await self.people.location_notices(inp)

    @activity.defn
    async def mark_location_notified(self, notices: LocationNotices) -> None:
        """The enrollments were told: these people's changes are no longer pending."""
        await self.people.mark_location_notified(notices)
