from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import PUBLIC, SessionDep

router = APIRouter(tags=["health"])


@router.get("/health", dependencies=[PUBLIC])
def health(session: SessionDep) -> dict[str, str]:
    """Liveness and database check; needs no token."""
    session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    return {"status": "ok", "database": "ok"}
