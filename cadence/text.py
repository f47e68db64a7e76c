"""Bounded echoes of user input, for error messages: a 10 MB value gives a short answer."""

from __future__ import annotations

import reprlib
from typing import Any

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 2, 200, 200
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4


def cut(text: str, limit: int = 100) -> str:
    """``text`` if it has at most ``limit`` characters, else its start and an ellipsis."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def brief(value: Any, limit: int = 60) -> str:
    """A repr of ``value`` in at most ``limit`` characters, which never renders a large string
    or container whole; a short value reads exactly as its ``repr``."""
    return cut(
        repr(value) if isinstance(value, str) and len(value) <= limit else _REPR.repr(value), limit
    )
