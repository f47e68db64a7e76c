"""Shared dependencies: database session, Temporal client, the authenticated user, and the
access rule of every route.

Each route declares who may call it with exactly one rule, through the dependency that gives it
its user (``AdminUser``, ``OwnerUser``, ...) or, for routes without a user, ``dependencies=[...]``
(``PUBLIC``, the inbound intake's own token). ``rule_of`` finds a route's rule;
tests/test_access.py walks every route and checks it for each role.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from temporalio.client import Client

from cadence.core.auth import user_for_token
from cadence.core.db import get_engine
from cadence.core.models import Role, User
from cadence.core.temporal import connect


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


class Access(StrEnum):
    """Who may call a route. Roles outside a rule get a 403; a rep asking for something of
    another rep's gets a 404, as if it did not exist (ids do not leak)."""

    public = "public"  # no token: /health, the links in emails (their own signed tokens)
    intake = "intake"  # the inbound-mail intake's own secret, CADENCE_INBOUND_TOKEN
    signed_in = "signed_in"  # every user: campaigns, the people directory, your profile
    author = "author"  # admins and authors: publishing campaigns
    admin = "admin"  # admins only
    rep = "rep"  # admins and reps, acting as themselves (enroll, send, upload)
    owner = "owner"  # one thing by id: admins any; a rep their own (else 404)
    own_list = "own_list"  # a list: admins everything; a rep what is theirs


ROLES: dict[Access, frozenset[Role]] = {
    Access.public: frozenset(),
    Access.intake: frozenset(),
    Access.signed_in: frozenset(Role),
    Access.author: frozenset({Role.admin, Role.author}),
    Access.admin: frozenset({Role.admin}),
    Access.rep: frozenset({Role.admin, Role.rep}),
    Access.owner: frozenset({Role.admin, Role.rep}),
    Access.own_list: frozenset({Role.admin, Role.rep}),
}


class Rule:
    """A dependency that carries its route's access rule; with a user rule it checks the role
    and gives the user."""

    def __init__(self, access: Access) -> None:
        self.access = access


class UserRule(Rule):
    def __call__(self, user: Annotated[User, Depends(get_current_user)]) -> User:
        allowed = [r for r in Role if r in ROLES[self.access]]
        if user.role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"This action needs the role {', '.join(r.value for r in allowed)}; "
                f"your role is {user.role}",
            )
        return user


class PublicRule(Rule):
    def __call__(self) -> None:
        return None


PUBLIC = Depends(PublicRule(Access.public))
CurrentUser = Annotated[User, Depends(UserRule(Access.signed_in))]
AdminUser = Annotated[User, Depends(UserRule(Access.admin))]
AuthorUser = Annotated[User, Depends(UserRule(Access.author))]
RepUser = Annotated[User, Depends(UserRule(Access.rep))]
OwnerUser = Annotated[User, Depends(UserRule(Access.owner))]
OwnListUser = Annotated[User, Depends(UserRule(Access.own_list))]


def owns(user: User, owner_id: int | None) -> bool:
    """Whether ``user`` may act on something owned by ``owner_id``: admins on anything."""
    return user.role == Role.admin or (owner_id is not None and owner_id == user.id)


def not_found(what: str, key: Any) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} {key} not found")


def rules_of(dependant: Dependant) -> list[Access]:
    """The access rules a route's dependencies declare, sub-dependencies included."""
    found: list[Access] = []
    for dep in dependant.dependencies:
        if isinstance(dep.call, Rule):
            found.append(dep.call.access)
        found += rules_of(dep)
    return found


def rule_of(dependant: Dependant) -> Access | None:
    """The route's one declared rule (None when it declares none, or rules that differ)."""
    rules = set(rules_of(dependant))
    return rules.pop() if len(rules) == 1 else None


def api_routes(app: FastAPI) -> Iterator[tuple[str, str, Dependant]]:
    """Every (method, path, dependant) the app serves, included routers walked through."""
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute):
            for method in sorted(route.methods or ()):
                yield method, str(route.path), route.dependant
