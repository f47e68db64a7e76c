"""The API's documentation pages, /docs (Swagger UI) and /redoc (ReDoc), served with their
JavaScript and CSS from this server: they work on a machine without internet. The files come
from the fastapi-standalone-docs package (Swagger UI 5, ReDoc 2 and their licences); nothing
is fetched from a CDN, and ReDoc is told not to load Google Fonts."""

from __future__ import annotations

from pathlib import Path

import fastapi_standalone_docs
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

STATIC = Path(fastapi_standalone_docs.__file__).parent / "static"
ASSETS = "/docs-assets"
"""Where the files are served: ``{ASSETS}/swagger/...``, ``{ASSETS}/redoc/...``,
``{ASSETS}/fastapi/favicon.png``."""


def install_docs(app: FastAPI) -> None:
    """Serve /docs and /redoc from local files (create the app with ``docs_url=None`` and
    ``redoc_url=None``). They are plain routes, outside the OpenAPI document."""
    openapi_url = app.openapi_url or "/openapi.json"
    favicon = f"{ASSETS}/fastapi/favicon.png"

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS}/swagger/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger/swagger-ui.css",
            swagger_favicon_url=root + favicon,
            # No badge from the online validator (swagger.io): the spec stays on this machine.
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc/redoc.standalone.js",
            redoc_favicon_url=root + favicon,
            with_google_fonts=False,
        )

    app.add_route("/docs", swagger_ui, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
    # The package's ReDoc loads its logo from the page's own path: /redoc/logo-mini.svg.
    app.mount("/redoc", StaticFiles(directory=STATIC / "redoc"), name="redoc-logo")
    for part in ("swagger", "redoc", "fastapi"):
        app.mount(f"{ASSETS}/{part}", StaticFiles(directory=STATIC / part), name=f"docs-{part}")
