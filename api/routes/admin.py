"""Admin settings: the blocked recipient domains."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlmodel import col, select

from api.deps import AdminUser, SessionDep
from api.schemas import BlockedDomainIn, BlockedDomainPublic
from cadence.models import BlockedDomain

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/blocked-domains")
def list_blocked(session: SessionDep, _admin: AdminUser) -> list[BlockedDomainPublic]:
    rows = session.exec(select(BlockedDomain).order_by(col(BlockedDomain.domain))).all()
    return [BlockedDomainPublic.model_validate(r, from_attributes=True) for r in rows]


@router.post("/blocked-domains", status_code=status.HTTP_201_CREATED)
def block(body: BlockedDomainIn, session: SessionDep, admin: AdminUser) -> BlockedDomainPublic:
    """No sales email goes to this domain from now on (checked at every send)."""
    domain = body.domain.strip().lower()
    row = session.get(BlockedDomain, domain) or BlockedDomain(
        domain=domain, note=body.note, created_by=admin.id
    )
    session.add(row)
    session.commit()
    return BlockedDomainPublic.model_validate(row, from_attributes=True)


@router.delete("/blocked-domains/{domain}", status_code=status.HTTP_204_NO_CONTENT)
def unblock(domain: str, session: SessionDep, _admin: AdminUser) -> None:
    row = session.get(BlockedDomain, domain.lower())
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{domain} is not blocked")
    session.delete(row)
    session.commit()
