"""The FastAPI application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from api.limits import BodyLimit, validation_error
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
from cadence.config import get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    get_settings().require_database_url()  # a setting missing or set by halves stops the start
    app.state.temporal = None
    app.state.temporal_lock = asyncio.Lock()
    yield


def create_app() -> FastAPI:
    app = FastAPI(
        title="Cadence",
        summary="Sales cadence engine: campaigns, enrollments, sales email, activity log",
        version="0.1.0",
        lifespan=lifespan,
    )
    routers = (
        health, users, people, campaigns, enrollments, tasks, emails, attachments, activities,
        tracking, admin, inbound,
    )  # fmt: skip
    for module in routers:
        app.include_router(module.router)
    install_error_handler(app)
    app.add_middleware(BodyLimit)
    app.add_exception_handler(RequestValidationError, validation_error)
    return app


app = create_app()
