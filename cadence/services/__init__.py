"""The services: what the activities (and the API) do, with the database, the mail servers and
the integrations. An activity (activities/) is a thin ``@activity.defn`` method that delegates
to one of these; a service never needs a Temporal activity context (it is given a heartbeat)."""

from __future__ import annotations

from collections.abc import Callable

Heartbeat = Callable[..., None]
"""Reports progress (the activity passes ``activity.heartbeat``; details are optional)."""


def no_heartbeat(*details: object) -> None:
    """The heartbeat outside an activity: progress goes nowhere."""
