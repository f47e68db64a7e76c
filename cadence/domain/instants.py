"""Instants in UTC: the one way to read a stored datetime as UTC and to write one as the
APIs we talk to write them (ISO 8601 with a ``Z``)."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive value (SQLite hands them back) is taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso_z(value: datetime, *, microseconds: bool = False) -> str:
    """``2026-12-01T15:00:00Z``: the instant in UTC (naive: taken as UTC), to the second
    unless ``microseconds``."""
    utc = as_utc(value)
    if not microseconds:
        utc = utc.replace(microsecond=0)
    return utc.isoformat().replace("+00:00", "Z")
