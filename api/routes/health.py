from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import PUBLIC, SessionDep
from cadence.core.config import get_settings

router = APIRouter(tags=["health"])


@router.get("/health", dependencies=[PUBLIC])
def health(session: SessionDep) -> dict[str, object]:
    """Liveness, the database, and which integrations are on (``off``: not configured, so
    nothing goes there); needs no token and shows no setting's value."""
    session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    integrations = {
        name: "on" if on else "off" for name, on in get_settings().integrations().items()
    }
    return {"status": "ok", "database": "ok", "integrations": integrations}
