from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic_core import from_json
from sqlmodel import col, select

from api.deps import AuthorUser, CurrentUser, SessionDep, TemporalDep, not_found
from api.enrollment_calls import update_enrollment
from api.openapi import UNSUPPORTED_TYPE
from api.schemas import (
    CampaignPublic,
    CampaignSummary,
    CursorParam,
    IdParam,
    MigrationResult,
    PreviewRequest,
    PreviewResponse,
)
from cadence.core.models import Campaign, CampaignVersion, Enrollment, Person
from cadence.domain.contracts import RUNNING_STATUSES, MigrateRequest
from cadence.domain.playbook import EmailStep, Playbook
from cadence.domain.playbook_yaml import (
    MAX_ISSUES,
    PlaybookError,
    check_playbook,
    decode_playbook,
    in_document_order,
    parse_playbook,
    playbook_to_yaml,
)
from cadence.domain.templates import TemplateError, person_values, render
from cadence.domain.text import brief
from workflows.enrollment import EnrollmentWorkflow

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The playbook as YAML (application/yaml) or as a JSON object",
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"$ref": "#/components/schemas/Playbook"}},
        },
    }
}


def _issues_detail(err: PlaybookError) -> list[dict[str, Any]]:
    """The 422 detail for a YAML playbook's issues: loc, msg, line and column."""
    detail = []
    for issue in err.issues:
        parts = issue.path.split(".") if issue.path else []
        loc = ["body", *(int(part) if part.isdigit() else part for part in parts)]
        detail.append({"loc": loc, **issue.as_dict()})
    return detail


def _check_json(raw: bytes) -> Playbook:
    """A JSON playbook, or a 422 with every problem (loc, msg, type) in the order of its
    keys, as a YAML one gets them in the order of its lines."""
    try:
        data = from_json(raw)
    except ValueError as err:
        invalid = {"loc": ["body"], "msg": f"invalid JSON: {err}", "type": "json_invalid"}
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [invalid]) from err
    playbook, problems = check_playbook(data)
    if playbook is None:
        detail: list[dict[str, Any]] = [
            {"loc": ["body", *p.loc], "msg": p.message, "type": p.type}
            for p in in_document_order(problems, data)
        ]
        if len(detail) > MAX_ISSUES:
            more = f"and {len(detail) - MAX_ISSUES} more problems"
            detail = [*detail[:MAX_ISSUES], {"loc": ["body"], "msg": more}]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)
    return playbook


async def _read_playbook(request: Request) -> tuple[Playbook, str]:
    """The playbook in the body (its size is bounded by api/limits.py); parsed on a thread,
    since a playbook at the size limit takes a moment of CPU."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if content_type in YAML_TYPES:
        try:
            text = decode_playbook(raw)
            return await run_in_threadpool(parse_playbook, text), text
        except PlaybookError as err:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, _issues_detail(err)) from err
    if content_type == "application/json":
        playbook = await run_in_threadpool(_check_json, raw)
        return playbook, playbook_to_yaml(playbook)
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        "Send the playbook as Content-Type: application/yaml or application/json",
    )


def _check_supported(playbook: Playbook) -> None:
    unsupported = playbook.unsupported_steps()
    if unsupported:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "loc": ["body", "steps", i, "type"],
                    "msg": f"step type {t!r} is not supported yet",
                }
                for i, t in unsupported
            ],
        )


def _public(campaign: Campaign, version: CampaignVersion) -> CampaignPublic:
    assert campaign.id is not None
    return CampaignPublic(
        id=campaign.id,
        name=campaign.name,
        description=campaign.description,
        current_version=campaign.current_version,
        steps=version.playbook["steps"],
        created_at=campaign.created_at,
    )


def _current_version(session: SessionDep, campaign: Campaign) -> CampaignVersion:
    return session.exec(
        select(CampaignVersion).where(
            CampaignVersion.campaign_id == campaign.id,
            CampaignVersion.version == campaign.current_version,
        )
    ).one()


@router.post(
    "", status_code=status.HTTP_201_CREATED, openapi_extra=_BODY_DOC, responses=UNSUPPORTED_TYPE
)
async def create_campaign(
    request: Request, session: SessionDep, user: AuthorUser
) -> CampaignPublic:
    """Publish a playbook as a new campaign (version 1)."""
    playbook, source = await _read_playbook(request)
    _check_supported(playbook)
    campaign = Campaign(name=playbook.name, description=playbook.description, created_by=user.id)
    session.add(campaign)
    session.flush()
    assert campaign.id is not None
    version = CampaignVersion(
        campaign_id=campaign.id,
        version=1,
        source_yaml=source,
        playbook=playbook.model_dump(mode="json"),
        created_by=user.id,
    )
    session.add(version)
    session.commit()
    return _public(campaign, version)


@router.post(
    "/{campaign_id}/versions",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_BODY_DOC,
    responses=UNSUPPORTED_TYPE,
)
async def publish_version(
    campaign_id: IdParam, request: Request, session: SessionDep, user: AuthorUser
) -> CampaignPublic:
    """Publish a new version; running enrollments keep the version they started on."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise not_found("Campaign", campaign_id)
    playbook, source = await _read_playbook(request)
    _check_supported(playbook)
    campaign.current_version += 1
    campaign.name, campaign.description = playbook.name, playbook.description
    version = CampaignVersion(
        campaign_id=campaign_id,
        version=campaign.current_version,
        source_yaml=source,
        playbook=playbook.model_dump(mode="json"),
        created_by=user.id,
    )
    session.add(campaign)
    session.add(version)
    session.commit()
    return _public(campaign, version)


@router.get("")
def list_campaigns(
    session: SessionDep,
    _user: CurrentUser,
    limit: int = Query(default=100, ge=1, le=200),
    after_id: CursorParam = 0,
) -> list[CampaignSummary]:
    """Campaigns by id, with each one's steps in outline (id, day, type): the list stays small
    however long the emails are; ``GET /campaigns/{id}`` has the steps whole."""
    campaigns = session.exec(
        select(Campaign).where(col(Campaign.id) > after_id).order_by(col(Campaign.id)).limit(limit)
    ).all()
    return [
        CampaignSummary.model_validate({
            **campaign.model_dump(include={"id", "name", "description", "current_version",
                                           "created_at"}),
            "steps": _current_version(session, campaign).playbook["steps"],
        })
        for campaign in campaigns
    ]  # fmt: skip


@router.get("/{campaign_id}")
def get_campaign(campaign_id: IdParam, session: SessionDep, _user: CurrentUser) -> CampaignPublic:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise not_found("Campaign", campaign_id)
    return _public(campaign, _current_version(session, campaign))


@router.post("/{campaign_id}/versions/{version}/migrate")
async def migrate_enrollments(
    campaign_id: IdParam,
    version: IdParam,
    session: SessionDep,
    user: AuthorUser,
    temporal: TemporalDep,
) -> list[MigrationResult]:
    """Move every running enrollment of the campaign to ``version``, from each one's next step
    on (steps map by id). Ended enrollments are left as they are."""
    target = session.exec(
        select(CampaignVersion).where(
            CampaignVersion.campaign_id == campaign_id, CampaignVersion.version == version
        )
    ).first()
    if target is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"Campaign {campaign_id} has no version {version}"
        )
    playbook = Playbook.model_validate(target.playbook)
    rows = session.exec(
        select(Enrollment).where(
            Enrollment.campaign_id == campaign_id,
            col(Enrollment.status).in_(RUNNING_STATUSES),
            Enrollment.campaign_version != version,
        )
    ).all()
    results: list[MigrationResult] = []
    for row in rows:
        assert row.id is not None
        request = MigrateRequest(version=version, playbook=playbook, by_user_id=user.id)
        try:
            await update_enrollment(session, temporal, row, EnrollmentWorkflow.migrate, request)
        except HTTPException as err:  # refused or ended (409), or not reached now (503)
            result = "refused" if err.status_code == status.HTTP_409_CONFLICT else "failed"
            results.append(
                MigrationResult(enrollment_id=row.id, result=result, reason=str(err.detail))
            )
            continue
        row.campaign_version = version
        session.add(row)
        session.commit()
        results.append(MigrationResult(enrollment_id=row.id, result="migrated"))
    return results


@router.post("/{campaign_id}/preview")
def preview(
    campaign_id: IdParam, body: PreviewRequest, session: SessionDep, user: CurrentUser
) -> PreviewResponse:
    """Render one step of the current version for a person, as it would go out from you.
    ``problems`` lists what would stop an automatic send (it would become a task instead)."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise not_found("Campaign", campaign_id)
    playbook = Playbook.model_validate(_current_version(session, campaign).playbook)
    step = next((s for s in playbook.steps if s.id == body.step_id), None)
    if step is None:
        known = ", ".join(s.id for s in playbook.steps)
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"No step {brief(body.step_id)}; the steps are {known}"
        )
    person = session.get(Person, body.person_id)
    if person is None:
        raise not_found("Person", body.person_id)
    values = person_values(person, user)
    values.setdefault("team_unsubscribe", "(the unsubscribe link)")
    texts = (
        {"subject": step.subject or "", "body": step.body}
        if isinstance(step, EmailStep)
        else {"subject": step.title, "body": step.notes or ""}
    )
    rendered: dict[str, str] = {}
    problems: list[str] = []
    for name, template in texts.items():
        try:
            rendered[name] = render(template, values)
        except TemplateError as err:
            problems.append(f"{name}: {err}")
            rendered[name] = template
    return PreviewResponse(
        step_id=step.id, type=step.type, subject=rendered["subject"], body=rendered["body"],
        problems=problems,
    )  # fmt: skip
