"""Benchmark: the engine's enrollments against bare Temporal, in one run, on one dev server.

Both halves use the same file-backed dev server (SQLite with WAL, as `make run` does), the same
number of workflows and the same number of activities per workflow:

- engine: N people enrolled through the HTTP API (in-process app, 100 people per request) into
  a campaign of S immediate email steps; each step renders, sends over SMTP to the sink (a
  separate `devstack sink` process) and writes the activity log; the enrollment then records its
  end in the database (one more activity);
- bare: N workflows each running S no-op activities, started with the same concurrency.

Prints starts per second, steps completed per second and the ratios engine/bare.
Run: ``make bench`` (or ``python -m bench.enroll --people 200 --steps 3``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
PATH_ENV = {"PYTHONPATH": str(ROOT)}
STARTS_CONCURRENCY = 32  # what the API uses (api.enrolling.start_workflows)


@dataclass
class Figures:
    starts_per_s: float
    steps_per_s: float


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def playbook(steps: int) -> str:
    lines = [
        "name: Benchmark",
        'settings: {skip_weekends: false, holidays: "off",',
        '           send_window: {start: "00:00", end: "23:59"}}',
        "steps:",
    ]
    for i in range(steps):
        lines.append(
            f"  - {{id: s{i}, day: 1, type: auto_email, send_at: immediately, "
            f'subject: "Note {i} for {{{{first_name}}}}", body: "Hi {{{{first_name}}}}."}}'
        )
    return "\n".join(lines) + "\n"


def start_worker(command: list[str], env: dict[str, str], ready: str) -> subprocess.Popen[str]:
    """A worker process; returns once it prints ``ready`` (stdout or stderr)."""
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(line)
        if ready in line:
            # Keep draining so a chatty worker never blocks on a full pipe.
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc
    raise RuntimeError("worker did not start:\n" + "".join(seen[-20:]))


def stop_worker(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


async def bench_bare(client: Client, address: str, people: int, steps: int) -> Figures:
    from bench.bare import BARE_QUEUE, BareWorkflow

    gate = asyncio.Semaphore(STARTS_CONCURRENCY)
    run = uuid.uuid4().hex[:8]

    async def start(i: int) -> str:
        async with gate:
            handle = await client.start_workflow(
                BareWorkflow.run, steps, id=f"bare/{run}/{i}", task_queue=BARE_QUEUE
            )
            return handle.id

    worker = start_worker(
        [sys.executable, "-m", "bench.bare", address], {**os.environ, **PATH_ENV}, "ready"
    )
    try:
        t0 = time.perf_counter()
        ids = await asyncio.gather(*(start(i) for i in range(people)))
        started = time.perf_counter() - t0
        await asyncio.gather(*(client.get_workflow_handle(i).result() for i in ids))
        finished = time.perf_counter() - t0
    finally:
        stop_worker(worker)
    return Figures(people / started, people * steps / finished)


class Engine:
    """The engine side: a migrated database, a user, N people, the in-process API app."""

    def __init__(self, client: Client, people: int, steps: int) -> None:
        from sqlmodel import Session

        from api.main import create_app
        from cadence.core.auth import create_user
        from cadence.core.db import get_engine, migrate
        from cadence.core.models import Person, Role

        self.client, self.people, self.steps = client, people, steps
        migrate()
        with Session(get_engine()) as session:
            _, token = create_user(
                session, name="Bench", email="bench@seller.example", role=Role.admin
            )
            session.add_all(
                Person(email=f"p{i}@example.com", first_name=f"P{i}", company="Acme")
                for i in range(people)
            )
            session.commit()
        self.app = create_app()
        self.app.state.temporal, self.app.state.temporal_lock = client, asyncio.Lock()
        self.headers = {"Authorization": f"Bearer {token}"}

    async def round(self, address: str) -> Figures:
        worker = start_worker(
            [str(BIN / "cadence"), "worker"],
            {**os.environ, **PATH_ENV, "CADENCE_TEMPORAL_ADDRESS": address},
            "worker running",
        )
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.app),
                base_url="http://api",
                headers=self.headers,
            ) as api:
                created = await api.post("/campaigns", content=playbook(self.steps),
                                         headers={"Content-Type": "application/yaml"})  # fmt: skip
                created.raise_for_status()
                url = f"/campaigns/{created.json()['id']}/enrollments"
                t0 = time.perf_counter()
                ids: list[str] = []
                for first in range(1, self.people + 1, 100):
                    batch = list(range(first, min(first + 100, self.people + 1)))
                    resp = await api.post(url, json={"person_ids": batch})
                    resp.raise_for_status()
                    ids += [r["workflow_id"] for r in resp.json()["results"]]
                started = time.perf_counter() - t0
                await asyncio.gather(*(self.client.get_workflow_handle(i).result() for i in ids))
                finished = time.perf_counter() - t0
        finally:
            stop_worker(worker)
        return Figures(self.people / started, self.people * self.steps / finished)


def start_sink(smtp_port: int, http_port: int, maildir: Path) -> subprocess.Popen[bytes]:
    """The SMTP sink as its own process, as in `make run`."""
    return subprocess.Popen(
        [str(BIN / "python"), "-m", "devstack", "sink", "--smtp-port", str(smtp_port),
         "--http-port", str(http_port), "--maildir", str(maildir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def wait_for_sink(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("SMTP sink did not start")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200, help="enrollments (and bare runs)")
    parser.add_argument("--steps", type=int, default=3, help="email steps per enrollment")
    parser.add_argument("--rounds", type=int, default=3, help="alternating bare/engine rounds")
    args = parser.parse_args()

    from cadence.domain.contracts import SEARCH_ATTRIBUTE_KEYS

    with tempfile.TemporaryDirectory(prefix="cadence-bench-") as tmp:
        data = Path(tmp)
        smtp_port, http_port = free_port(), free_port()
        os.environ.update(
            CADENCE_DATABASE_URL=f"sqlite:///{data / 'cadence.db'}",
            CADENCE_SMTP_HOST="127.0.0.1",
            CADENCE_SMTP_PORT=str(smtp_port),
            # One benchmark sender sends everything: lift its mailbox quota (still checked).
            CADENCE_MAILBOX_RATE_COUNT="1000000",
            CADENCE_MAILBOX_DAILY_CAP="1000000",
        )
        sink = start_sink(smtp_port, http_port, data / "sink")
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(BIN / "temporal"),
            dev_server_database_filename=str(data / "temporal.db"),
            dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal"],
            data_converter=pydantic_data_converter,
            search_attributes=SEARCH_ATTRIBUTE_KEYS,
        )
        try:
            wait_for_sink(f"http://127.0.0.1:{http_port}/health")
            print(
                f"{args.people} enrollments x {args.steps} email steps, {args.rounds} rounds "
                "(bare then engine); file-backed dev server with WAL"
            )
            address = env.client.service_client.config.target_host
            engine = Engine(env.client, args.people, args.steps)
            rounds: list[tuple[Figures, Figures]] = []
            for number in range(1, args.rounds + 1):
                bare = await bench_bare(env.client, address, args.people, args.steps)
                mine = await engine.round(address)
                rounds.append((bare, mine))
                print(
                    f"round {number}: starts/s bare {bare.starts_per_s:.1f} engine "
                    f"{mine.starts_per_s:.1f}; steps/s bare {bare.steps_per_s:.1f} engine "
                    f"{mine.steps_per_s:.1f}"
                )
        finally:
            await env.shutdown()
            sink.terminate()
            sink.wait()
    report(rounds)


def report(rounds: list[tuple[Figures, Figures]]) -> None:
    """Medians over the rounds; each ratio is taken within its round (same machine moment)."""
    rows = [
        ("starts per second", [(b.starts_per_s, e.starts_per_s) for b, e in rounds]),
        ("steps per second", [(b.steps_per_s, e.steps_per_s) for b, e in rounds]),
    ]
    print(f"{'median of rounds':24}{'bare':>10}{'engine':>10}{'ratio':>8}")
    for name, pairs in rows:
        bare = statistics.median(b for b, _ in pairs)
        mine = statistics.median(e for _, e in pairs)
        ratio = statistics.median(e / b for b, e in pairs)
        print(f"{name:24}{bare:10.1f}{mine:10.1f}{ratio:8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
