"""Durable state for the fake servers: one JSON document, replaced atomically on every save."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any


class JsonState:
    """A dict persisted to a JSON file (or kept in memory when no path is given).

    The fakes keep their leads, activities and records here so that a restart of `make run`
    finds what the previous run stored.
    """

    def __init__(self, path: Path | None, initial: dict[str, Any]) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.data: dict[str, Any] = json.loads(json.dumps(initial))
        if path is not None and path.exists():
            loaded = json.loads(path.read_text(encoding="utf-8"))
            self.data.update(loaded)

    def save(self) -> None:
        """Write the whole document; a crash mid-write leaves the previous file intact."""
        if self.path is None:
            return
        with self.lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.data, fh, default=str)
            os.replace(tmp, self.path)
