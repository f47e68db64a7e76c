"""Benchmark: the inbound-mail classifier against its target of 500 messages per second.

A realistic mix: every fixture in tests/fixtures/replies (delivery reports from a dozen MTAs,
Amazon SES notifications, feedback reports, auto-replies, unsubscribe requests, human replies
in several languages), repeated and shuffled to N messages (2000 by default). Each round
classifies all N raw messages with `classify` (parsing included) in this one process, pinned to
one core where the platform allows. Rounds are timed separately and the median is printed.
Run: ``python -m bench.classify`` (``make bench`` runs it too).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections import Counter
from pathlib import Path

from cadence.replies.classify import classify

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "replies"
TARGET = 500.0  # messages per second on one core


def mix(count: int, seed: int = 7) -> list[bytes]:
    """Every fixture, repeated until there are at least `count` messages, in a fixed shuffle."""
    messages = [path.read_bytes() for path in sorted(FIXTURES.glob("*.eml"))]
    if not messages:
        raise SystemExit(f"no fixtures in {FIXTURES}")
    repeats = -(-count // len(messages))
    batch = (messages * repeats)[: max(count, len(messages))]
    random.Random(seed).shuffle(batch)
    return batch


def one_core() -> str:
    """Pin this process to one CPU (the one it runs on), where the OS allows it."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity here)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def timed_round(batch: list[bytes]) -> float:
    t0 = time.perf_counter()
    for raw in batch:
        classify(raw)
    return len(batch) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per round")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds")
    args = parser.parse_args()

    pinned = one_core()
    batch = mix(args.messages)
    labels = Counter(classify(raw).label for raw in set(batch))  # also warms up
    size = sum(len(raw) for raw in batch) / len(batch)
    print(
        f"{len(batch)} messages ({len(set(batch))} distinct, {size / 1024:.1f} KiB on average), "
        f"{args.rounds} rounds, one process, {pinned}"
    )
    print("fixtures by label: " + ", ".join(f"{label} {n}" for label, n in sorted(labels.items())))
    rates = []
    for number in range(1, args.rounds + 1):
        rates.append(timed_round(batch))
        print(f"round {number}: {rates[-1]:.0f} messages/s")
    rate = statistics.median(rates)
    print(f"{'median of rounds':24}{'msgs/s':>10}{'target':>10}{'ratio':>8}")
    print(f"{'classify (one core)':24}{rate:10.0f}{TARGET:10.0f}{rate / TARGET:8.2f}")


if __name__ == "__main__":
    main()
