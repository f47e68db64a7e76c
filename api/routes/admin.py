"""Admin settings and reports: the blocked recipient domains, and how far the activity log
has reached Marketo and Salesforce."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlmodel import col, exists, func, select
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import TemporalError

from api.deps import AdminUser, SessionDep, TemporalDep
from api.openapi import CONFLICT
from api.schemas import BlockedDomainIn, BlockedDomainPublic, ShippingStatus
from cadence.core.config import get_settings, off_hint
from cadence.core.models import ActivityLog, BlockedDomain, ShipCursor, ShipOutcome
from cadence.domain.contracts import TASK_QUEUE, OptOutSyncInput
from workflows.optout_sync import OptOutSyncWorkflow
from workflows.shipper import ActivityShipperWorkflow, shipper_workflow_id

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


@router.get("/shipping")
async def shipping(
    session: SessionDep, temporal: TemporalDep, _admin: AdminUser
) -> list[ShippingStatus]:
    """Per destination: what was shipped, skipped or deferred, what is waiting, what is in
    doubt after an ambiguous failure, and how many Marketo rows may be duplicates."""
    settings = get_settings()
    configured = {"marketo": settings.marketo_configured,
                  "salesforce": settings.salesforce_configured}  # fmt: skip
    out = []
    for destination, is_configured in configured.items():
        cursor = session.get(ShipCursor, destination) or ShipCursor(destination=destination)
        counts = dict(
            session.exec(
                select(ShipOutcome.status, func.count())
                .where(ShipOutcome.destination == destination)
                .group_by(col(ShipOutcome.status))
            ).all()
        )
        waiting = session.exec(
            select(func.count())
            .select_from(ActivityLog)
            .where(
                ~exists().where(
                    col(ShipOutcome.activity_id) == col(ActivityLog.id),
                    col(ShipOutcome.destination) == destination,
                )
            )
        ).one()
        last_error = None
        if is_configured:
            handle = temporal.get_workflow_handle_for(
                ActivityShipperWorkflow.run, shipper_workflow_id(destination)
            )
            try:
                last_error = (await handle.query(ActivityShipperWorkflow.status))["last_error"]
            except TemporalError:
                last_error = None  # not running yet
        out.append(
            ShippingStatus(
                destination=destination,
                configured=is_configured,
                shipped=counts.get("shipped", 0),
                skipped=counts.get("skipped", 0),
                deferred=counts.get("deferred", 0),
                in_doubt=counts.get("in_doubt", 0),
                waiting=waiting,
                possible_duplicates=cursor.possible_duplicates,
                ambiguous_failures=cursor.ambiguous_retries,
                cursor=cursor.last_id,
                last_error=str(last_error) if last_error else None,
            )
        )
    return out


@router.post("/opt-out-sync", status_code=status.HTTP_202_ACCEPTED, responses=CONFLICT)
async def opt_out_sync_now(temporal: TemporalDep, _admin: AdminUser) -> dict[str, str]:
    """Bring Salesforce's email opt-outs back now, not at the nightly run (a run already
    going is joined)."""
    if not get_settings().salesforce_configured:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"Salesforce is off: set {off_hint('salesforce')}",
        )
    handle = await temporal.start_workflow(
        OptOutSyncWorkflow.run,
        OptOutSyncInput(),
        id="opt-out-sync/now",
        task_queue=TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return {"status": "syncing", "workflow_id": handle.id}
