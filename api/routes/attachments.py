"""Files to attach to sales emails: uploaded once, referred to by id (23 MB per email)."""

from __future__ import annotations

import hashlib
import re

from fastapi import APIRouter, HTTPException, Query, Request, status
from sqlmodel import col, select

from api.deps import OwnerUser, RepUser, SessionDep, not_found, owns
from api.schemas import AttachmentPublic, IdParam
from cadence.core.models import MAX_ATTACHMENTS_BYTES, Attachment, User

router = APIRouter(prefix="/attachments", tags=["attachments"])
_MB = MAX_ATTACHMENTS_BYTES // (1024 * 1024)
_UNSAFE = re.compile(r"[\x00-\x1f/\\]")


def too_large(size: int, what: str) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"{what} is {size} bytes; an email carries at most {_MB} MB "
        f"({MAX_ATTACHMENTS_BYTES} bytes) of attachments",
    )


def attachments_for(session: SessionDep, user: User, ids: list[int], where: str) -> None:
    """Check that a message may carry these attachments: they exist, are the user's (an
    admin may use any), and fit in one email together. 404/413 say which and why."""
    if not ids:
        return
    rows = session.exec(select(Attachment).where(col(Attachment.id).in_(ids))).all()
    found = {row.id: row for row in rows if owns(user, row.owner_id)}
    for index, attachment_id in enumerate(ids):
        if attachment_id not in found:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                [{"loc": ["body", where, index], "msg": f"no attachment {attachment_id}"}],
            )
    total = sum(found[i].size for i in dict.fromkeys(ids))
    if total > MAX_ATTACHMENTS_BYTES:
        raise too_large(total, "together the attachments")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The file itself, with its Content-Type",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload(
    request: Request,
    session: SessionDep,
    user: RepUser,
    filename: str = Query(min_length=1, max_length=255, description="as the recipient sees it"),
) -> AttachmentPublic:
    """The request body is the file itself; its Content-Type is kept (octet-stream if none)."""
    if _UNSAFE.search(filename) or filename in (".", ".."):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["query", "filename"], "msg": "a file name, without folders or controls"}],
        )
    data = await request.body()  # at most MAX_ATTACHMENTS_BYTES (api/limits.py)
    if not data:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["body"], "msg": "the file is empty"}],
        )
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", content_type):
        content_type = "application/octet-stream"
    attachment = Attachment(
        filename=filename,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        owner_id=user.id or 0,
    )
    session.add(attachment)
    session.commit()
    session.refresh(attachment)
    return AttachmentPublic.model_validate(attachment, from_attributes=True)


@router.get("/{attachment_id}")
def get_attachment(
    attachment_id: IdParam, session: SessionDep, user: OwnerUser
) -> AttachmentPublic:
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or not owns(user, attachment.owner_id):
        raise not_found("Attachment", attachment_id)
    return AttachmentPublic.model_validate(attachment, from_attributes=True)
