"""The Marketo unsubscribe check at send time, as Sales Insight Actions does it: just before a
commercial email goes, Marketo is asked whether the person is unsubscribed, so an unsubscribe
made there seconds ago is honoured, not only after the next people sync.

* One call per person (``GET /rest/v1/lead/{id}.json?fields=unsubscribed``), its answer reused
  for ``CADENCE_MARKETO_UNSUBSCRIBE_CACHE_SECONDS``.
* Within the API limits: at most ``CADENCE_MARKETO_UNSUBSCRIBE_CHECKS_PER_20S`` calls per
  worker per 20 s (Marketo allows 100 per 20 s for everyone); past that the synced flag is used.
* Degraded, never blocking: when Marketo does not answer in time, refuses or is not configured,
  the send goes on with the flag the people sync brought (a log line says so).

The answer only ever adds an unsubscribe: a person unsubscribed here stays so.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import httpx
from temporalio.exceptions import ApplicationError

from cadence.core.config import get_settings
from cadence.integrations.clients import marketo_client
from cadence.integrations.marketo import MarketoError

logger = logging.getLogger(__name__)
WINDOW_S = 20.0


class UnsubscribeCheck:
    """Per worker process: the cache of Marketo's answers and the call budget."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: dict[int, tuple[float, bool]] = {}
        self._calls: deque[float] = deque()

    def _cached(self, marketo_id: int, ttl: float) -> bool | None:
        with self._lock:
            hit = self._answers.get(marketo_id)
            if hit is not None and self._clock() - hit[0] < ttl:
                return hit[1]
            return None

    def _take_budget(self, per_window: int) -> bool:
        with self._lock:
            now = self._clock()
            while self._calls and self._calls[0] <= now - WINDOW_S:
                self._calls.popleft()
            if len(self._calls) >= per_window:
                return False
            self._calls.append(now)
            return True

    def unsubscribed(self, marketo_id: int | None, synced: bool) -> bool:
        """Whether a commercial email to this person must not go: the synced flag, or
        Marketo's flag as it is now (or as it was a moment ago)."""
        settings = get_settings()
        if synced or marketo_id is None or not settings.marketo_configured:
            return synced
        cached = self._cached(marketo_id, settings.marketo_unsubscribe_cache_seconds)
        if cached is not None:
            return cached
        if not self._take_budget(settings.marketo_unsubscribe_checks_per_20s):
            logger.info(
                "unsubscribe check for Marketo lead %s skipped: %s checks in %ss already; "
                "using the synced flag", marketo_id,
                settings.marketo_unsubscribe_checks_per_20s, WINDOW_S,
            )  # fmt: skip
            return synced
        try:
            answer = asyncio.run(_ask(marketo_id, settings.marketo_unsubscribe_timeout_seconds))
        except (MarketoError, httpx.HTTPError, TimeoutError, ApplicationError) as err:
            logger.warning(
                "Marketo did not answer the unsubscribe check for lead %s (%s); "
                "using the synced flag", marketo_id, err,
            )  # fmt: skip
            return synced
        with self._lock:
            self._answers[marketo_id] = (self._clock(), answer)
        return answer


async def _ask(marketo_id: int, timeout_s: float) -> bool:
    async with marketo_client(timeout_s=timeout_s) as client:
        lead = await asyncio.wait_for(client.get_lead(marketo_id, ["unsubscribed"]), timeout_s)
    value = (lead or {}).get("unsubscribed")
    return value is True or str(value).lower() in ("true", "1")


CHECK = UnsubscribeCheck()


def unsubscribed_in_marketo(marketo_id: int | None, synced: bool) -> bool:
    return CHECK.unsubscribed(marketo_id, synced)
