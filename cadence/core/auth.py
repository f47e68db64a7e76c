"""Users and bearer API tokens. Only a SHA-256 of each token is stored."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session, select

from cadence.core.models import ApiToken, Role, User

TOKEN_PREFIX = "cad_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, label: str | None = None) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    assert user.id is not None
    session.add(
        ApiToken(user_id=user.id, token_hash=hash_token(token), prefix=token[:10], label=label)
    )
    session.flush()
    return token


def create_user(
    session: Session, *, name: str, email: str, role: Role, title: str | None = None
) -> tuple[User, str]:
    """Create a user and its first API token; raise ValueError if the email is taken."""
    email = email.strip().lower()
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise ValueError(f"a user with email {email} already exists")
    user = User(name=name, email=email, role=role, title=title)
    session.add(user)
    session.flush()
    return user, issue_token(session, user, label="initial")


def user_for_token(session: Session, token: str) -> User | None:
    row = session.exec(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked == False)  # noqa: E712
    ).first()
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.is_active else None
