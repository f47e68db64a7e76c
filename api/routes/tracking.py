"""Public links in sales emails: the open pixel, click redirects and unsubscribe. No login;
each link carries a signed token, and an altered or forged one gets 404 and writes nothing."""

from __future__ import annotations

import base64
import html
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from temporalio.exceptions import TemporalError

from api.deps import PUBLIC, SessionDep, TemporalDep
from cadence.core.models import ActivityKind, Person
from cadence.domain.contracts import InboundEvent
from cadence.services.activity_log import record_activity
from cadence.services.optout import running_enrollments
from cadence.services.optout import unsubscribe as unsubscribe_person
from cadence.services.tracking import verify
from workflows.enrollment import EnrollmentWorkflow

router = APIRouter(tags=["tracking"], include_in_schema=True)
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, max-age=0"}


def _payload(token: str, kind: str) -> dict[str, Any]:
    payload = verify(token)
    if payload is None or payload.get("k") != kind:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Unknown link")
    return payload


def _log(session: SessionDep, payload: dict[str, Any], kind: ActivityKind, key: str,
         details: dict[str, Any]) -> None:  # fmt: skip
    record_activity(
        session,
        key=key,
        kind=kind,
        person_id=int(payload["p"]),
        enrollment_id=payload.get("e"),
        campaign_id=payload.get("c"),
        subject=payload.get("s"),
        details={"message_id": payload.get("m"), **details},
    )
    session.commit()


@router.get("/t/o/{token}.gif", response_class=Response, dependencies=[PUBLIC])
def open_pixel(token: str, session: SessionDep) -> Response:
    """The open pixel: logs "Open Sales Email" (at most once a minute per message)."""
    payload = _payload(token, "o")
    minute = datetime.now(UTC).strftime("%Y%m%d%H%M")
    _log(session, payload, ActivityKind.open_email, f"{payload['m']}/open/{minute}", {})
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@router.get("/t/c/{token}", dependencies=[PUBLIC])
def click(token: str, session: SessionDep) -> RedirectResponse:
    """A tracked link: logs "Click Sales Email" with the link, then redirects to it."""
    payload = _payload(token, "c")
    url = str(payload.get("u", ""))
    if not url.startswith(("https://", "http://")):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Unknown link")
    second = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    _log(session, payload, ActivityKind.click_email, f"{payload['m']}/click/{url}/{second}",
         {"link": url})  # fmt: skip
    return RedirectResponse(url, status_code=status.HTTP_302_FOUND, headers=NO_STORE)


def _page(title: str, text: str, form: bool = False) -> HTMLResponse:
    button = "<form method='post'><button type='submit'>Unsubscribe</button></form>" if form else ""
    return HTMLResponse(
        f"<!doctype html><meta name='viewport' content='width=device-width'>"
        f"<title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(text)}</p>{button}",
        headers=NO_STORE,
    )


@router.get("/u/{token}", response_class=HTMLResponse, dependencies=[PUBLIC])
def unsubscribe_page(token: str, session: SessionDep) -> HTMLResponse:
    """Asks before unsubscribing (mail scanners follow links; only the POST unsubscribes)."""
    payload = _payload(token, "u")
    person = session.get(Person, int(payload["p"]))
    if person is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Unknown link")
    if person.unsubscribed:
        return _page("You are unsubscribed", f"{person.email} gets no more sales emails from us.")
    return _page("Unsubscribe?", f"Stop sales emails to {person.email}.", form=True)


@router.post("/u/{token}", response_class=HTMLResponse, dependencies=[PUBLIC])
async def unsubscribe(token: str, session: SessionDep, temporal: TemporalDep) -> HTMLResponse:
    """Unsubscribe (also the RFC 8058 one-click POST): marks the person unsubscribed, ends
    their running enrollments and logs it. Repeating it changes nothing."""
    payload = _payload(token, "u")
    person = session.get(Person, int(payload["p"]))
    if person is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Unknown link")
    if unsubscribe_person(session, person, via="link", enrollment_id=payload.get("e"),
                          campaign_id=payload.get("c"), message_id=payload.get("m")):  # fmt: skip
        session.commit()
    running = running_enrollments(session, int(payload["p"]))
    for row in running:
        handle = temporal.get_workflow_handle_for(EnrollmentWorkflow.run, row.workflow_id)
        try:
            await handle.signal(EnrollmentWorkflow.inbound, InboundEvent(kind="unsubscribe"))
        except TemporalError:
            pass  # ended meanwhile; the send-time guard stops anything left
    return _page("You are unsubscribed", f"{person.email} gets no more sales emails from us.")
