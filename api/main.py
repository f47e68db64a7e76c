"""The FastAPI application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, iter_route_contexts
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope

from api.docs import install_docs
from api.errors import install_error_handlers
from api.limits import BodyLimit, validation_error
from api.openapi import install_openapi
from api.routes import (
    activities,
    admin,
    attachments,
    campaigns,
    emails,
    enrollments,
    health,
    inbound,
    people,
    tasks,
    tracking,
    users,
)
from api.workflow_calls import install_error_handler
from cadence.core.config import get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    get_settings().require_database_url()  # a setting missing or set by halves stops the start
    app.state.temporal = None
    app.state.temporal_lock = asyncio.Lock()
    yield


def literal_paths_first(app: FastAPI) -> None:
    """A path that a route spells out is never taken for another route's parameter: GET
    /people/sync is a 405 (that path takes POST), not GET /people/{person_id} with the id
    "sync" (a 422)."""
    contexts = [
        c for c in iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)
    ]
    literal = {str(c.path) for c in contexts if not c.param_convertors}
    for context in contexts:
        if not context.param_convertors:
            continue
        shadowed = frozenset(p for p in literal if context.path_regex.match(p))
        if shadowed:
            route = context.original_route
            setattr(route, "matches", _unless(route.matches, shadowed))  # noqa: B010


def _unless(
    matches: Callable[[Scope], tuple[Match, Scope]], shadowed: frozenset[str]
) -> Callable[[Scope], tuple[Match, Scope]]:
    def check(scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and get_route_path(scope) in shadowed:
            return Match.NONE, {}
        return matches(scope)

    return check


def create_app() -> FastAPI:
    app = FastAPI(
        title="Cadence",
        summary="Sales cadence engine: campaigns, enrollments, sales email, activity log",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served from local files: api/docs.py
        redoc_url=None,
    )
    routers = (
        health, users, people, campaigns, enrollments, tasks, emails, attachments, activities,
        tracking, admin, inbound,
    )  # fmt: skip
    for module in routers:
        app.include_router(module.router)
    literal_paths_first(app)
    install_openapi(app)
    install_docs(app)
    install_error_handlers(app)
    install_error_handler(app)
    app.add_middleware(BodyLimit)
    app.add_exception_handler(RequestValidationError, validation_error)
    return app


app = create_app()
