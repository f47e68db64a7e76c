"""The root page of a fake server: what it holds and its admin endpoints (/_fake/...), so the
URL that `make run` prints shows something useful in a browser."""

from __future__ import annotations

import html

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts


def admin_endpoints(app: FastAPI) -> list[tuple[str, str, str]]:
    """(method, path, what it does) for each /_fake route, from the routes themselves."""
    found = []
    for route in iter_route_contexts(app.routes):
        path = str(route.path)
        if isinstance(route.original_route, APIRoute) and path.startswith("/_fake"):
            doc = (route.original_route.endpoint.__doc__ or "").strip().splitlines()
            for method in sorted(route.methods or ()):
                found.append((method, path, doc[0] if doc else ""))
    return found


def home_page(app: FastAPI, holds: dict[str, int], about: str) -> HTMLResponse:
    """A short HTML page: the fake's name, what it stands for, its counts and endpoints."""
    e = html.escape
    counts = "".join(f"<tr><td>{e(name)}</td><td>{n}</td></tr>" for name, n in holds.items())
    endpoints = "".join(
        f"<tr><td><code>{e(method)}</code></td><td><code>{e(path)}</code></td><td>{e(text)}</td></tr>"
        for method, path, text in admin_endpoints(app)
    )
    return HTMLResponse(
        "<!doctype html><meta charset='utf-8'>"
        f"<title>{e(app.title)}</title><h1>{e(app.title)}</h1><p>{e(about)}</p>"
        f"<h2>What it holds</h2><table>{counts}</table>"
        f"<h2>Admin endpoints</h2><table>{endpoints}</table>"
    )
