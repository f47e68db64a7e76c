"""Instants written as the APIs we talk to write them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cadence.domain.instants import as_utc, iso_z

NEW_YORK_WINTER = timezone(timedelta(hours=-5))


def test_an_instant_is_written_in_utc_with_a_z() -> None:
    moment = datetime(2026, 12, 1, 10, 0, 5, 250_000, tzinfo=NEW_YORK_WINTER)
    assert iso_z(moment) == "2026-12-01T15:00:05Z"
    assert iso_z(moment, microseconds=True) == "2026-12-01T15:00:05.250000Z"


def test_a_naive_instant_is_taken_as_utc() -> None:
    naive = datetime(2026, 12, 1, 15, 0)
    assert iso_z(naive) == "2026-12-01T15:00:00Z"
    assert as_utc(naive) == as_utc(datetime(2026, 12, 1, 10, 0, tzinfo=NEW_YORK_WINTER))
