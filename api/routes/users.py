from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from api.deps import AdminUser, CurrentUser, SessionDep
from api.openapi import CONFLICT
from api.schemas import UserCreate, UserCreated, UserPublic, UserUpdate
from cadence.core.auth import create_user

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=CONFLICT)
def create(body: UserCreate, session: SessionDep, _admin: AdminUser) -> UserCreated:
    """Add a user (admin only); the answer carries the user's first API token."""
    try:
        user, token = create_user(
            session, name=body.name, email=str(body.email), role=body.role, title=body.title
        )
    except ValueError as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from err
    session.commit()
    return UserCreated(user=UserPublic.model_validate(user, from_attributes=True), token=token)


@router.get("/me")
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


@router.patch("/me")
def update_me(body: UserUpdate, session: SessionDep, user: CurrentUser) -> UserPublic:
    """Change your title, your email signature ({{my_signature}} in templates) or your time
    zone (your enrollments use it when the lead's is not known)."""
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(user, field, value)
    session.add(user)
    session.commit()
    return UserPublic.model_validate(user, from_attributes=True)
