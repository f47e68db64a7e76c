"""Benchmark: the incremental people sync (Marketo's lead changes from the stored paging token)
with 100,000 people synced, against its targets: an update made in Marketo is in the people
table (what ``GET /people`` reads) within 60 s, and a minute with nothing changed costs at most
2 Marketo calls.

The fake Marketo (its own process, Marketo's limits) holds N leads; the first sync (Bulk Lead
Extract) brings them in, then syncs run every 30 s as the schedule does by default
(``CADENCE_PEOPLE_SYNC_MINUTES=0.5``). The update is made just after a sync, the worst moment.
Run: ``python -m bench.people_changes [--people 100000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from bench.people_sync import MK_ID, MK_SECRET, fake_marketo

EVERY_S = 30.0
TARGET_S, TARGET_CALLS = 60.0, 2


async def sync() -> None:
    from temporalio.testing import ActivityEnvironment

    from activities.people import PeopleActivities
    from cadence.domain.contracts import PeopleSyncInput
    from cadence.services.people import PeopleSync

    sync_people = PeopleActivities(PeopleSync()).sync_people_from_marketo
    await ActivityEnvironment().run(sync_people, PeopleSyncInput())


def title_of(marketo_id: int) -> str | None:
    from sqlmodel import Session, select

    from cadence.core.db import get_engine
    from cadence.core.models import Person

    with Session(get_engine()) as session:
        person = session.exec(select(Person).where(Person.marketo_id == marketo_id)).first()
        return None if person is None else person.title


async def measure(base: str, lead_id: int) -> tuple[float, float, int, int]:
    t0 = time.perf_counter()
    await sync()  # the first sync: Bulk Lead Extract
    first_s = time.perf_counter() - t0
    await sync()  # what came in while the first one ran
    calls = lambda: int(httpx.get(f"{base}/_fake/stats").json()["calls"])  # noqa: E731
    before = calls()
    for _ in range(2):  # a minute with nothing changed
        await asyncio.sleep(EVERY_S)
        await sync()
    idle_calls = calls() - before
    from cadence.integrations.marketo import MarketoClient

    async with MarketoClient(base, MK_ID, MK_SECRET) as client:  # right after a sync
        await client.sync_leads(
            [{"id": lead_id, "title": "Chief Bench Officer"}], "updateOnly", "id"
        )
    changed_at = time.perf_counter()
    while title_of(lead_id) != "Chief Bench Officer":
        await asyncio.sleep(EVERY_S)
        t = time.perf_counter()
        await sync()
        sync_s = time.perf_counter() - t
    return first_s, time.perf_counter() - changed_at, idle_calls, round(sync_s * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    args = parser.parse_args()
    with fake_marketo(args.people, "cadence-bench-changes-") as (base, owned):
        lead_id = args.people - 1  # a lead with a sales owner
        first_s, seen_s, idle_calls, sync_ms = asyncio.run(measure(base, lead_id))
    print(f"{args.people} leads in the fake Marketo, {owned} people synced in {first_s:.1f} s")
    print(f"update visible after {seen_s:.1f} s (target {TARGET_S:.0f}); the sync that "
          f"brought it took {sync_ms} ms")  # fmt: skip
    print(f"Marketo calls in a minute with nothing changed: {idle_calls} (target {TARGET_CALLS})")
    ok = seen_s <= TARGET_S and idle_calls <= TARGET_CALLS
    print("ok" if ok else "MISS")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
