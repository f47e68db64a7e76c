"""Shared dependencies: database session, Temporal client, the authenticated user and roles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from temporalio.client import Client

from cadence.auth import user_for_token
from cadence.db import get_engine
from cadence.models import Role, User
from cadence.temporal import connect


def get_db() -> Iterator[Session]:
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]


async def get_temporal(request: Request) -> Client:
    """One client per app, connected on first use so the API starts even before Temporal."""
    state = request.app.state
    if state.temporal is None:
        async with state.temporal_lock:
            if state.temporal is None:
                try:
                    state.temporal = await connect()
                except RuntimeError as err:
                    raise HTTPException(
                        status.HTTP_503_SERVICE_UNAVAILABLE, f"Temporal is unreachable: {err}"
                    ) from err
    client: Client = state.temporal
    return client


TemporalDep = Annotated[Client, Depends(get_temporal)]

_bearer = HTTPBearer(auto_error=False, description="An API token from `cadence users create`")


def get_current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Missing API token: send the header 'Authorization: Bearer <token>'",
            headers=challenge,
        )
    user = user_for_token(session, credentials.credentials)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "Invalid or revoked API token", headers=challenge
        )
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(*roles: Role) -> Callable[[User], User]:
    allowed = ", ".join(r.value for r in roles)

    def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"This action needs the role {allowed}; your role is {user.role}",
            )
        return user

    return check


AdminUser = Annotated[User, Depends(require_role(Role.admin))]
AuthorUser = Annotated[User, Depends(require_role(Role.admin, Role.author))]
RepUser = Annotated[User, Depends(require_role(Role.admin, Role.rep))]
