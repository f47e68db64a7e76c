"""Benchmark: the engine's send path against raw aiosmtplib sends, in one run, to one sink.

- engine: the `send_email` activity as the SMTP worker runs it (16 threads), for N people:
  guards (unsubscribed, bounced before, blocked domains), the mailbox-quota slot, rendering,
  tracking (click links, pixel, unsubscribe footer and headers), the exactly-once claim, SMTP
  through the pooled connections, and the sent row with its activity-log record;
- raw: the same number of messages of the same size, built beforehand, sent by 16 asyncio
  tasks over 16 open aiosmtplib connections (the fastest way to push them).

Both send to the same `devstack sink` process. Rounds alternate raw then engine; each ratio is
taken within its round and the median is printed. Run: ``python -m bench.send``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from bench.enroll import free_port, start_sink, wait_for_sink

CONCURRENCY = 16  # the SMTP worker's default thread count (smtp_concurrency)
BODY = (
    "Hi {{first_name}},\n\nI noticed {{company_friendly}} is hiring sales reps. Teams like "
    "yours use us to keep every lead in a cadence: https://example.com/tour\n\n"
    "Would a 15-minute call next week help?\n\n{{my_name}}"
)


def raw_message(i: int, size: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"] = "Rita Rep <rita@seller.example>", f"p{i}@example.com"
    msg["Subject"], msg["Message-ID"] = f"Hello P{i}", f"<raw-{i}-{time.time_ns()}@bench>"
    text = "x" * (size // 2 - 200)
    msg.set_content(text)
    msg.add_alternative(f"<html><body>{text[:-30]}</body></html>", subtype="html")
    return msg


async def raw_round(port: int, count: int, size: int) -> float:
    messages = [raw_message(i, size) for i in range(count)]
    queue: asyncio.Queue[EmailMessage] = asyncio.Queue()
    for msg in messages:
        queue.put_nowait(msg)

    async def sender() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await smtp.connect()
        while not queue.empty():
            await smtp.send_message(queue.get_nowait())
        await smtp.quit()

    t0 = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
    return count / (time.perf_counter() - t0)


class Engine:
    def __init__(self, people: int) -> None:
        from sqlmodel import Session

        from cadence.core.auth import create_user
        from cadence.core.db import get_engine, migrate
        from cadence.core.models import BlockedDomain, Person, Role
        from cadence.domain.contracts import OwnerSnapshot

        migrate()
        with Session(get_engine()) as session:
            user, _ = create_user(
                session, name="Rita Rep", email="rita@seller.example", role=Role.rep
            )
            session.add_all(
                Person(email=f"p{i}@example.com", first_name=f"P{i}", company="Acme Inc.")
                for i in range(people)
            )
            session.add_all(BlockedDomain(domain=f"rival{i}.example") for i in range(20))
            session.commit()
            self.owner = OwnerSnapshot(id=user.id or 0, name=user.name, email=user.email)
        self.people = people
        self.pool = ThreadPoolExecutor(CONCURRENCY)
        self.rounds = 0

    def run(self, people: int | None = None) -> float:
        """Sends per second."""
        from temporalio.testing import ActivityEnvironment

        from activities.email import EmailActivities
        from cadence.domain.contracts import SendEmailInput
        from cadence.services.email.send import EmailSender

        send_email = EmailActivities(EmailSender()).send_email
        self.rounds += 1
        inputs = [
            SendEmailInput(
                workflow_id=f"bench/{self.rounds}/{i}", enrollment_id=None, campaign_id=None,
                campaign_name=None, step_id="intro", step_day=None, person_id=i + 1,
                owner=self.owner, subject="Hello {{first_name}}", body=BODY,
            )
            for i in range(people or self.people)
        ]  # fmt: skip
        t0 = time.perf_counter()
        results = list(
            self.pool.map(lambda inp: ActivityEnvironment().run(send_email, inp), inputs)
        )
        elapsed = time.perf_counter() - t0
        assert all(r.status == "sent" for r in results), {r.status for r in results}
        return len(inputs) / elapsed


def wire_size(sink: str) -> int:
    """The size of a message the engine sent, as the sink received it."""
    import httpx

    listed = httpx.get(f"{sink}/api/messages").json()["messages"]
    return len(httpx.get(f"{sink}/api/messages/{listed[0]['id']}/raw").content)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000, help="messages per side per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating raw/engine rounds")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cadence-bench-send-") as tmp:
        data = Path(tmp)
        smtp_port, http_port = free_port(), free_port()
        os.environ.update(
            CADENCE_DATABASE_URL=f"sqlite:///{data / 'cadence.db'}",
            CADENCE_SMTP_HOST="127.0.0.1",
            CADENCE_SMTP_PORT=str(smtp_port),
            CADENCE_TRACKING_SECRET="bench-secret",
            CADENCE_PUBLIC_BASE_URL="https://cadence.example.com",
            CADENCE_SENT_CHECK_URL=f"http://127.0.0.1:{http_port}/api/messages",
            # One sender sends everything: lift its mailbox quota (still checked).
            CADENCE_MAILBOX_RATE_COUNT="1000000",
            CADENCE_MAILBOX_DAILY_CAP="1000000",
        )
        sink = start_sink(smtp_port, http_port, data / "sink")
        try:
            wait_for_sink(f"http://127.0.0.1:{http_port}/health")
            engine = Engine(args.messages)
            engine.run(CONCURRENCY)  # warm-up: connections, caches
            size = wire_size(f"http://127.0.0.1:{http_port}")
            print(
                f"{args.messages} messages per side, {args.rounds} rounds (raw then engine), "
                f"{CONCURRENCY} at once, one sink process, about {size} bytes per message"
            )
            rounds: list[tuple[float, float]] = []
            for number in range(1, args.rounds + 1):
                raw = await raw_round(smtp_port, args.messages, size)
                mine = await asyncio.to_thread(engine.run)
                rounds.append((raw, mine))
                print(f"round {number}: sends/s raw {raw:.0f} engine {mine:.0f}")
        finally:
            sink.terminate()
            sink.wait()
    raw = statistics.median(r for r, _ in rounds)
    mine = statistics.median(e for _, e in rounds)
    ratio = statistics.median(e / r for r, e in rounds)
    print(f"{'median of rounds':24}{'raw':>10}{'engine':>10}{'ratio':>8}")
    print(f"{'sends per second':24}{raw:10.0f}{mine:10.0f}{ratio:8.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
