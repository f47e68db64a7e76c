"""What tracking and unsubscribe add to a sales email: links through the click redirect, the
open pixel, the unsubscribe footer and the RFC 8058 List-Unsubscribe headers."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from cadence.core.config import Settings
from cadence.services.tracking import sign

URL = re.compile(r"https?://[^\s<>\"')\]]+")
FOOTER = "\n\n--\nTo stop receiving these emails: {url}"


@dataclass
class Links:
    """The signed links for one message."""

    settings: Settings
    base: dict[str, Any]  # message id, person, enrollment, campaign, subject

    def _url(self, path: str, payload: dict[str, Any]) -> str:
        root = (self.settings.public_base_url or "").rstrip("/")  # set when tracking is on
        return f"{root}/{path}/{sign({**self.base, **payload}, self.settings)}"

    @property
    def unsubscribe(self) -> str:
        return self._url("u", {"k": "u"})

    @property
    def pixel(self) -> str:
        return self._url("t/o", {"k": "o"}) + ".gif"

    def click(self, target: str) -> str:
        return self._url("t/c", {"k": "c", "u": target})

    def mailto(self, domain: str) -> str:
        return f"mailto:unsubscribe@{domain}?subject=unsubscribe"


def with_footer(body: str, links: Links, placed_by_template: bool) -> str:
    """Commercial email carries an unsubscribe link: the template's own, or this footer."""
    return body if placed_by_template else body + FOOTER.format(url=links.unsubscribe)


def html_version(text: str, links: Links) -> str:
    """The HTML part: the text, escaped, its links through the click redirect, and the pixel."""
    parts: list[str] = []
    last = 0
    for match in URL.finditer(text):
        parts.append(html.escape(text[last : match.start()]))
        target = match.group(0)
        parts.append(f'<a href="{html.escape(links.click(target))}">{html.escape(target)}</a>')
        last = match.end()
    parts.append(html.escape(text[last:]))
    body = "".join(parts).replace("\n", "<br>\n")
    pixel = f'<img src="{html.escape(links.pixel)}" width="1" height="1" alt="">'
    return f"<!doctype html><html><body>{body}{pixel}</body></html>"
