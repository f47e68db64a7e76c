"""The API's documentation pages work on a machine without internet: /docs and /redoc name no
external URL, every file they name is served by the API itself, and in a browser whose network
reaches nothing but 127.0.0.1, Swagger UI lists the operations and ReDoc renders them."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest
import uvicorn

from api.main import create_app
from tests.utils.net import free_port

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".json": "application/json",
}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [v for k, v in attrs if k in ("src", "href") and v]


def _named_urls(page: str) -> list[str]:
    """The URLs a docs page loads: its src/href attributes and the spec URL in its script."""
    parser = _Links()
    parser.feed(page)
    spec = re.findall(r"""(?:url:\s*|spec-url=)['"]([^'"]+)['"]""", page)
    return parser.links + spec


@pytest.fixture
def served(database: str) -> Iterator[str]:
    """The API on a free port of 127.0.0.1 (a real server, for the browser)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_everything_from_the_api_itself(served: str, page: str) -> None:
    html = httpx.get(served + page).text
    assert "://" not in html, f"{page} names an outside URL"
    urls = _named_urls(html)
    assert any(u.endswith(".js") for u in urls) and "/openapi.json" in urls
    for url in urls:
        answer = httpx.get(served + url)
        assert answer.status_code == 200, url
        kind = next(t for ext, t in TYPES.items() if url.endswith(ext))
        assert answer.headers["content-type"].startswith(kind), url


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
@pytest.mark.parametrize(
    ("page", "rendered"),
    [
        ("/docs", ".opblock-summary-path"),  # Swagger UI: one line per operation
        ("/redoc", "[data-section-id^='tag/'] h2"),  # ReDoc: the operations, by tag
    ],
)
def test_the_docs_render_in_a_browser_without_internet(
    served: str, page: str, rendered: str
) -> None:
    from playwright.sync_api import Route, sync_playwright

    refused: list[str] = []

    def local_only(route: Route) -> None:
        if route.request.url.startswith(served + "/"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS)
        try:
            context = browser.new_context()
            context.route("**/*", local_only)
            tab = context.new_page()
            tab.goto(served + page)
            tab.wait_for_selector(rendered, timeout=30_000)
            shown = tab.locator(rendered).all_inner_texts()
        finally:
            browser.close()
    assert refused == []
    text = " ".join(shown)
    if page == "/docs":
        assert "/campaigns/{campaign_id}/enrollments" in shown and "/health" in shown
    else:
        assert "campaigns" in text.lower() and "enrollments" in text.lower()
