"""Benchmark: the activity log reaching Marketo and Salesforce, counted in HTTP calls.

Two runs, each against fresh fake servers (`devstack fake marketo|salesforce`, real HTTP on
loopback) and a fresh SQLite database holding N people linked to Marketo leads and Salesforce
leads and N logged sales emails:

- **clean**: the shippers drain the log; every HTTP request the fakes see is counted (token
  requests included). Targets: 10,000 activities in at most 40 Marketo calls and 60
  Salesforce calls, and no 606 (rate limit) drawn.
- **faults**: a share of all calls fails (Marketo: 606, 604, HTTP 502, 502 after the rows were
  stored, and answers slower than the shipper waits (a timeout, the rows stored all the same);
  Salesforce: 503, UNABLE_TO_LOCK_ROW on a record, and the response dropped after the write).
  Failed batches are retried as Temporal would. Targets: every record arrives, none twice in
  Salesforce, and every Marketo duplicate is among the ones reported.

The activities run as the worker runs them (`ship_to_marketo`, `ship_to_salesforce`), without
the Temporal server in between, so the counts are the shippers' own. Run:
``python -m bench.shipping [--activities 10000] [--fault-rate 0.3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.enroll import free_port

DEVSTACK = [sys.executable, "-m", "devstack"]
MK_ID, MK_SECRET = "bench-mk", "bench-mk-secret"
TIMEOUT_S = 2.0  # how long the benchmark's shipper waits for Marketo to add activities
SF_ID, SF_SECRET = "bench-sf", "bench-sf-secret"


@dataclass
class Run:
    marketo_calls: int
    salesforce_calls: int
    marketo_606: int
    failed_batches: int
    in_marketo: int  # distinct activities that reached Marketo
    marketo_copies: int
    possible_duplicates: int  # what the shipper reported
    in_salesforce: int
    salesforce_tasks: int
    seconds: float


def start_fake(kind: str, port: int, client_id: str, secret: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [*DEVSTACK, "fake", kind, "--port", str(port), "--client-id", client_id,
         "--client-secret", secret],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(400):
        try:
            httpx.get(f"http://127.0.0.1:{port}/_fake/stats", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"fake {kind} did not start")


async def setup(count: int, mk_base: str) -> None:
    """N Marketo leads, the activity types provisioned, N people and N logged emails."""
    from sqlmodel import Session

    from cadence.core.db import get_engine, migrate
    from cadence.core.models import ActivityKind, Person
    from cadence.integrations.marketo import MarketoClient
    from cadence.integrations.marketo_types import ensure_activity_types
    from cadence.services.activity_log import record_activity
    from cadence.services.shipping import _save_provisioned_version

    migrate()
    lead_ids: list[int] = []
    async with MarketoClient(mk_base, MK_ID, MK_SECRET) as client:
        await ensure_activity_types(client)  # what `cadence marketo provision` does
        for start in range(0, count, 300):
            rows = [{"email": f"p{i}@example.com", "firstName": f"P{i}"}
                    for i in range(start, min(count, start + 300))]  # fmt: skip
            result = await client.sync_leads(rows, action="createOrUpdate", lookup_field="email")
            lead_ids += [int(r["id"]) for r in result]
            await asyncio.sleep(0.25)  # stay under the fake's 100 calls / 20 s
    _save_provisioned_version()
    with Session(get_engine()) as session:
        for i, lead_id in enumerate(lead_ids):
            session.add(Person(id=i + 1, email=f"p{i}@example.com", first_name=f"P{i}",
                               marketo_id=lead_id, sfdc_lead_id=f"00Q{i + 1:012d}AAA"))  # fmt: skip
        session.commit()
        for i in range(count):
            record_activity(
                session, key=f"enrollment/1/{i + 1}/intro", kind=ActivityKind.send_email,
                person_id=i + 1, subject=f"Quick question, P{i}",
                details={"campaign_name": "Bench", "step_id": "intro", "sent_by": "rita@x.example"},
            )  # fmt: skip
        session.commit()


async def drain(destination: str, batch: int) -> int:
    """Ship until nothing is left; returns how many calls failed (and were retried)."""
    from temporalio.exceptions import ApplicationError
    from temporalio.testing import ActivityEnvironment

    from activities.shipping import ShippingActivities
    from cadence.domain.contracts import ShipBatchInput
    from cadence.services.shipping import Shipping

    acts = ShippingActivities(Shipping())
    ship = acts.ship_to_marketo if destination == "marketo" else acts.ship_to_salesforce
    env, failures, idle = ActivityEnvironment(), 0, 0
    while idle < 2:  # twice nothing: in-doubt and retried rows are done too
        try:
            result = await env.run(ship, ShipBatchInput(destination=destination, limit=batch))
        except ApplicationError:
            failures += 1
            await asyncio.sleep(0.05)  # Temporal would back off; the fakes need no pause
            continue
        idle = idle + 1 if result.examined == 0 else 0
    return failures


async def faults(mk_base: str, sf_base: str, rate: float) -> None:
    """About ``rate`` of all calls fail, spread over the kinds each service really has."""
    mk_kinds: list[dict[str, Any]] = [
        {"code": "606"}, {"code": "604"}, {"code": "502"}, {"drop_after_commit": True},
        {"delay_s": TIMEOUT_S + 1},  # the answer comes after the client gave up: a timeout
    ]  # fmt: skip
    sf_kinds: list[dict[str, Any]] = [
        {"code": "SERVER_UNAVAILABLE"}, {"code": "UNABLE_TO_LOCK_ROW"}, {"drop_after_commit": True},
    ]  # fmt: skip
    async with httpx.AsyncClient() as http:
        for base, kinds in ((mk_base, mk_kinds), (sf_base, sf_kinds)):
            each = 1 - (1 - rate) ** (1 / len(kinds))  # together: about `rate`
            for kind in kinds:
                answer = await http.post(f"{base}/_fake/faults", json={**kind, "rate": each})
                answer.raise_for_status()


async def measure(count: int, rate: float) -> Run:
    from sqlmodel import Session

    import cadence.services.shipping as shipping
    from cadence.core.db import get_engine
    from cadence.core.models import ShipCursor

    mk_port, sf_port = free_port(), free_port()
    mk_base, sf_base = f"http://127.0.0.1:{mk_port}", f"http://127.0.0.1:{sf_port}"
    procs = [start_fake("marketo", mk_port, MK_ID, MK_SECRET),
             start_fake("salesforce", sf_port, SF_ID, SF_SECRET)]  # fmt: skip
    os.environ.update({
        "CADENCE_MARKETO_BASE_URL": mk_base, "CADENCE_MARKETO_CLIENT_ID": MK_ID,
        "CADENCE_MARKETO_CLIENT_SECRET": MK_SECRET, "CADENCE_SALESFORCE_BASE_URL": sf_base,
        "CADENCE_SALESFORCE_CLIENT_ID": SF_ID, "CADENCE_SALESFORCE_CLIENT_SECRET": SF_SECRET,
        "CADENCE_MARKETO_ADD_TIMEOUT_SECONDS": str(TIMEOUT_S),
    })  # fmt: skip
    from cadence.core.config import get_settings

    get_settings.cache_clear()
    try:
        await setup(count, mk_base)
        shipping._type_ids.clear()  # a worker process that starts now
        await asyncio.sleep(20)  # the fake's 20 s rate window forgets the set-up calls
        async with httpx.AsyncClient() as http:
            mk_before = (await http.get(f"{mk_base}/_fake/stats")).json()
            sf_before = (await http.get(f"{sf_base}/_fake/stats")).json()
            if rate:
                await faults(mk_base, sf_base, rate)
            t0 = time.perf_counter()
            failed = sum(await asyncio.gather(drain("marketo", 300), drain("salesforce", 200)))
            seconds = time.perf_counter() - t0
            await http.delete(f"{mk_base}/_fake/faults")
            await http.delete(f"{sf_base}/_fake/faults")
            mk_after = (await http.get(f"{mk_base}/_fake/stats")).json()
            sf_after = (await http.get(f"{sf_base}/_fake/stats")).json()
            sent = {"apiName": "cadenceSendSalesEmail"}
            stored = (await http.get(f"{mk_base}/_fake/activities", params=sent)).json()
            tasks = (await http.get(f"{sf_base}/_fake/records/Task")).json()
        copies = Counter(a["attributes"].get("cadenceActivityId") for a in stored)
        with Session(get_engine()) as session:
            cursor = session.get(ShipCursor, "marketo")
            reported = cursor.possible_duplicates if cursor else 0
        return Run(
            marketo_calls=(mk_after["requests"] - mk_before["requests"])
            + (mk_after["token_requests"] - mk_before["token_requests"]),
            salesforce_calls=(sf_after["calls"] - sf_before["calls"])
            + (sf_after["token_requests"] - sf_before["token_requests"]),
            marketo_606=mk_after["errors"].get("606", 0) - mk_before["errors"].get("606", 0),
            failed_batches=failed,
            in_marketo=len(copies),
            marketo_copies=sum(copies.values()),
            possible_duplicates=reported,
            in_salesforce=len({t["Cadence_Activity_Key__c"] for t in tasks}),
            salesforce_tasks=len(tasks),
            seconds=seconds,
        )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def one_run(count: int, rate: float) -> Run:
    """A run in its own temporary database."""
    with tempfile.TemporaryDirectory(prefix="cadence-bench-ship-") as tmp:
        os.environ["CADENCE_DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'cadence.db'}"
        from cadence.core.config import get_settings
        from cadence.core.db import get_engine

        get_settings.cache_clear()  # each run's URL is new: it gets an engine of its own
        try:
            return asyncio.run(measure(count, rate))
        finally:
            get_engine().dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=10_000)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    args = parser.parse_args()
    n = args.activities
    clean = one_run(n, 0.0)
    noisy = one_run(n, args.fault_rate)
    if n == 10_000:
        mk_goal, sf_goal = 40, 60  # the targets
    else:  # a batch per 300 (200), a token, the activity-type lookup
        mk_goal, sf_goal = -(-n // 300) + 2, -(-n // 200) + 1
    print(f"{n} activities to each of Marketo and Salesforce")
    print(f"{'':34}{'clean':>10}{'faults':>10}")
    rows = [
        ("Marketo HTTP calls", clean.marketo_calls, noisy.marketo_calls),
        ("Salesforce HTTP calls", clean.salesforce_calls, noisy.salesforce_calls),
        ("Marketo 606 drawn (real limit)", clean.marketo_606, "-"),
        ("failed calls, retried", clean.failed_batches, noisy.failed_batches),
        ("activities in Marketo", clean.in_marketo, noisy.in_marketo),
        ("Marketo duplicates", clean.marketo_copies - clean.in_marketo,
         noisy.marketo_copies - noisy.in_marketo),
        ("  reported as possible", clean.possible_duplicates, noisy.possible_duplicates),
        ("activities in Salesforce", clean.in_salesforce, noisy.in_salesforce),
        ("Salesforce Tasks (none twice)", clean.salesforce_tasks, noisy.salesforce_tasks),
        ("seconds", f"{clean.seconds:.1f}", f"{noisy.seconds:.1f}"),
    ]  # fmt: skip
    for name, a, b in rows:
        print(f"{name:34}{a!s:>10}{b!s:>10}")
    checks = {
        f"clean: Marketo calls <= {mk_goal}": clean.marketo_calls <= mk_goal,
        f"clean: Salesforce calls <= {sf_goal}": clean.salesforce_calls <= sf_goal,
        "clean: no 606": clean.marketo_606 == 0,
        "every record arrives": min(clean.in_marketo, clean.in_salesforce, noisy.in_marketo,
                                    noisy.in_salesforce) == n,
        "none twice in Salesforce": clean.salesforce_tasks == noisy.salesforce_tasks == n,
        "Marketo duplicates all reported": noisy.marketo_copies - noisy.in_marketo
        <= noisy.possible_duplicates and clean.marketo_copies == n,
    }  # fmt: skip
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'MISS'} {name}")
    raise SystemExit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
