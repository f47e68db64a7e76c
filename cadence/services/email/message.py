"""A sales email's MIME message and its deterministic Message-ID (the sending service builds
them; the API answers with the Message-ID a request will have)."""

from __future__ import annotations

import hashlib
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime

from cadence.core.models import utcnow


def message_id_for(workflow_id: str, step_id: str, domain: str) -> str:
    """Deterministic Message-ID: the same (enrollment, step) always yields the same id."""
    digest = hashlib.sha256(f"{workflow_id}|{step_id}".encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


_UTF8 = Charset("utf-8")
_UTF8.header_encoding = _UTF8.body_encoding = QP


def build_message(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    message_id: str,
    in_reply_to: str | None,
    html_body: str | None = None,
    list_unsubscribe: tuple[str, str] | None = None,
    cc: list[str] | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> Message:
    """Text (and, with tracking, HTML) in UTF-8 quoted-printable. Built with the compat32
    classes: the modern header registry parses every header again and costs more than the
    send. ``list_unsubscribe`` is (https URL, mailto URL) for RFC 8058 one-click;
    ``attachments`` are (filename, content type, data). Bcc never becomes a header."""
    text = MIMENonMultipart("text", "plain")
    text.set_payload(body, _UTF8)
    mime: Message = text
    if html_body is not None:
        rich = MIMENonMultipart("text", "html")
        rich.set_payload(html_body, _UTF8)
        mime = MIMEMultipart("alternative", _subparts=[text, rich])
    if attachments:
        files: list[Message] = [mime]
        for filename, content_type, data in attachments:
            maintype, _, subtype = content_type.partition("/")
            part = MIMEApplication(data, subtype or "octet-stream")
            if maintype != "application":
                part.replace_header("Content-Type", f"{maintype}/{subtype}")
            name = filename if filename.isascii() else ("utf-8", "", filename)
            part.add_header("Content-Disposition", "attachment", filename=name)
            files.append(part)
        mime = MIMEMultipart("mixed", _subparts=files)
    mime["From"] = sender
    mime["To"] = to
    if cc:
        mime["Cc"] = ", ".join(cc)
    mime["Subject"] = subject if subject.isascii() else Header(subject, _UTF8).encode()
    mime["Message-ID"] = message_id
    mime["Date"] = format_datetime(utcnow())
    if in_reply_to is not None:
        mime["In-Reply-To"] = in_reply_to
        mime["References"] = in_reply_to
    if list_unsubscribe is not None:
        https, mailto = list_unsubscribe
        mime["List-Unsubscribe"] = f"<{https}>, <{mailto}>"
        mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return mime
