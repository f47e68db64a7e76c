"""Instants as the fakes' vendors write them (one place for every fake)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_z(ts: float) -> str:
    """Marketo's form: ``2026-05-01T12:00:00Z`` (UTC, whole seconds)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sf_datetime(ts: float) -> str:
    """Salesforce's dateTime form: ``2026-05-01T12:00:00.000+0000``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
