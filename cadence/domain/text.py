"""Bounded echoes of user input, for error messages: a 10 MB value gives a short answer; and
the "did you mean" of a misspelt name."""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterable, Sequence
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


def closest(word: str, choices: Iterable[str]) -> list[str]:
    """The choices that ``word`` most likely misspells or shortens (case aside), best first:
    the one it equals, else those that contain it or that it contains (at most three, about
    as like it as the likest), else the one most like it; none when nothing is close (or the
    word is long). For "did you mean"."""
    by_lower = {choice.lower(): choice for choice in choices}
    low = word.lower()
    if low in by_lower:
        return [by_lower[low]]
    if len(low) > 100:
        return []
    parts = [c for c in by_lower if min(len(c), len(low)) >= 3 and (low in c or c in low)]
    if 0 < len(parts) <= 3:
        ratio = {c: difflib.SequenceMatcher(None, low, c).ratio() for c in parts}
        parts.sort(key=lambda c: -ratio[c])
        return [by_lower[c] for c in parts if ratio[c] >= ratio[parts[0]] - 0.2]
    return [by_lower[c] for c in difflib.get_close_matches(low, by_lower, n=1, cutoff=0.7)]


def one_of(names: Sequence[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
