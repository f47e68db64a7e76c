"""Process-wide logging set-up, shared by every `cadence` command and `python worker.py`."""

from __future__ import annotations

import logging

# These libraries log full request URLs at INFO; Marketo's Identity call carries the client
# secret in its query string, so they are kept at WARNING.
QUIET = ("httpx", "httpcore")


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
