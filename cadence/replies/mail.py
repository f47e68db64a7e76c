"""Read a raw inbound message into the parts the classifier looks at.

Real inbound mail is messy: wrong charsets, missing MIME headers, bounces that paste the original
message inline, HTML-only bodies. Everything here is tolerant: a part that cannot be decoded
is read as Latin-1 rather than rejected, and nothing raises on malformed input.
"""

from __future__ import annotations

import email
import html
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from email.header import Header, decode_header, make_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

_MSGID = re.compile(r"<([^<>\s@]+@[^<>\s]+)>")
_TAG = re.compile(r"<[^>]*>")
_DROP = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.I | re.S)
_BLOCK = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h\d|p|div|tr|li|blockquote)\b[^>]*>", re.I)
_SPACES = re.compile(r"[ \t\xa0]+")
_BLANKS = re.compile(r"\n\s*\n\s*\n+")
# Where a bounce pastes the original message into its own text.
_COPY_MARK = re.compile(
    r"^[ \t]*(?:-{2,}[ \t]*)?(?:"
    r"below this line is a copy of the message"
    r"|this is a copy of the message"
    r"|original message follows"
    r"|the (?:original )?(?:message|header)s? (?:of the original message )?"
    r"(?:is|are|was)? ?following"
    r"|undelivered message (?:headers )?follows"
    r"|(?:the )?(?:original|returned) (?:message|mail|headers?)(?: (?:headers|follows?))?"
    r"[ \t]*-*[ \t]*:?$"
    r"|unsent message below"
    r"|message header follows"
    # the same marks in the languages of the bounces we read
    r"|(?:die )?(?:ursprüngliche|originale?) ?nachricht(?: folgt)?[ \t]*-*[ \t]*:?$"
    r"|(?:copie du |le )?message (?:d'origine|original)(?: suit)?[ \t]*-*[ \t]*:?$"
    r"|(?:copia del )?mensaje original(?: a continuación)?[ \t]*-*[ \t]*:?$"
    r"|(?:het )?oorspronkelijke? bericht(?: volgt)?[ \t]*-*[ \t]*:?$"
    r"|messaggio originale[ \t]*-*[ \t]*:?$"
    r")",
    re.I | re.M,
)
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):[ \t]*(.*(?:\n[ \t]+.*)*)", re.M)


@dataclass
class Mail:
    """The parts of one message that classification and matching need."""

    subject: str = ""
    sender: str = ""  # the From address, lower-cased
    sender_name: str = ""
    return_path: str | None = None  # "" for the null sender <>
    sent_at: datetime | None = None
    message_id: str | None = None
    thread_ids: list[str] = field(default_factory=list)  # In-Reply-To, then References
    content_type: str = "text/plain"
    report_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names, first value
    text: str = ""  # the readable body: plain text, or HTML made text
    status_fields: list[dict[str, str]] = field(default_factory=list)  # message/delivery-status
    feedback: dict[str, str] | None = None  # message/feedback-report
    mdn: bool = False  # a read receipt (message/disposition-notification)
    original: str = ""  # the returned message or its headers, as text
    recipients: list[str] = field(default_factory=list)  # To and Cc, lower-cased

    @property
    def sent_on(self) -> date | None:
        return self.sent_at.date() if self.sent_at else None

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def original_message_ids(self) -> list[str]:
        """Message-IDs of the message a bounce or report returns (ours, when it is ours)."""
        ids = []
        for match in re.finditer(
            r"^(?:Message-ID|X-Message-ID):[ \t]*\n?[ \t]*(<[^>]+>)", self.original, re.I | re.M
        ):
            ids.extend(_MSGID.findall(match.group(1)))
        return ids


_ESCAPED = re.compile("[\udc80-\udcff]")


def unescaped(text: str) -> str:
    """Text the parser read from raw 8-bit bytes, decoded: UTF-8 (RFC 6532 headers, SMTPUTF8
    reports), else Windows-1252. The compat32 parser keeps such bytes as surrogate escapes."""
    if not _ESCAPED.search(text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def _8bit(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def raw_header(value: object) -> str:
    """A header value as text, its raw 8-bit bytes (RFC 6532) decoded, encoded words kept.

    compat32 hands such a value over as a Header of "unknown-8bit" chunks."""
    if isinstance(value, Header):
        chunks = decode_header(value)
        return "".join(_8bit(c) if isinstance(c, bytes) else str(c) for c, _ in chunks)
    return unescaped(str(value)) if value is not None else ""


def header_text(value: object) -> str:
    """A header value with RFC 2047 encoded words decoded and folding removed."""
    value = raw_header(value)
    if not value:
        return ""
    try:
        text = str(make_header(decode_header(value)))
    except (LookupError, UnicodeError, ValueError, TypeError, AssertionError):
        text = _WORDS.sub(_word, value)  # raw 8-bit text beside encoded words
    return " ".join(text.split())


_WORDS = re.compile(r"=\?[^?\s]+\?[QqBb]\?[^?\s]*\?=(?:\s+(?==\?[^?\s]+\?[QqBb]\?))?")


def _word(match: re.Match[str]) -> str:
    try:
        return str(make_header(decode_header(match.group().strip())))
    except (LookupError, UnicodeError, ValueError, TypeError, AssertionError):
        return match.group()


def part_text(part: Message) -> str:
    """A leaf part's content, transfer-decoded and charset-decoded, never raising."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")


def html_to_text(markup: str) -> str:
    """Readable text from HTML: block tags become line breaks, entities are decoded."""
    text = _DROP.sub(" ", markup)
    text = _BLOCK.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return _BLANKS.sub("\n\n", text).strip()


def _fields(block: str) -> dict[str, str]:
    return {
        m.group(1).lower(): " ".join(m.group(2).split())
        for m in _FIELD.finditer(block.replace("\r\n", "\n"))
    }


def _status_blocks(part: Message) -> list[dict[str, str]]:
    """The field blocks of a delivery-status part: per-message first, then per-recipient."""
    payload = part.get_payload()
    if isinstance(payload, list):  # compat32 parses the blocks as header-only messages
        blocks = []
        for p in payload:
            if not isinstance(p, Message):
                continue
            blocks.append({k.lower(): " ".join(raw_header(v).split()) for k, v in p.items()})
            rest = p.get_payload(decode=True)  # a global delivery status is read as one message
            if isinstance(rest, bytes) and rest.strip():
                text = _8bit(rest).replace("\r\n", "\n")
                blocks += [_fields(block) for block in re.split(r"\n[ \t]*\n", text)]
        return blocks
    text = part_text(part)
    return [_fields(block) for block in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n"))]


def _addresses(values: list[str]) -> list[str]:
    return [addr.lower() for _, addr in getaddresses(values) if "@" in addr]


def _first_text(parts: list[tuple[str, str]]) -> str:
    plain = [text for kind, text in parts if kind == "text/plain" and text.strip()]
    if plain:
        return "\n\n".join(plain)
    return "\n\n".join(html_to_text(text) for kind, text in parts if kind == "text/html")


def read(raw: bytes | str) -> Mail:
    """Parse a raw RFC 822 message. Never raises on malformed mail."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    msg = email.message_from_bytes(raw.lstrip(), policy=compat32)  # blank lines a pipe added
    mail = Mail()
    for name, value in msg.items():
        mail.headers.setdefault(name.lower(), raw_header(value))
    mail.subject = header_text(msg.get("Subject"))
    from_name, from_addr = (getaddresses([header_text(msg.get("From"))]) or [("", "")])[0]
    mail.sender, mail.sender_name = from_addr.lower(), from_name
    if "return-path" in mail.headers:
        mail.return_path = "".join(mail.headers["return-path"].split()).strip("<>").lower()
    try:
        mail.sent_at = parsedate_to_datetime(mail.headers.get("date", ""))
    except (TypeError, ValueError, IndexError):
        mail.sent_at = None
    ids = _MSGID.findall(mail.headers.get("message-id", ""))
    mail.message_id = ids[0] if ids else None
    for name in ("in-reply-to", "references"):
        for found in _MSGID.findall(" ".join(str(v) for v in msg.get_all(name, []))):
            if found not in mail.thread_ids:
                mail.thread_ids.append(found)
    mail.recipients = _addresses(
        [raw_header(v) for v in msg.get_all("to", []) + msg.get_all("cc", [])]
    )
    mail.content_type = msg.get_content_type()
    report_type = (msg.get_param("report-type") or "") if msg.is_multipart() else ""
    if isinstance(report_type, tuple):  # an RFC 2231 value
        report_type = str(report_type[2])
    mail.report_type = str(report_type).lower()

    bodies: list[tuple[str, str]] = []
    originals: list[str] = []
    _walk(msg, mail, bodies, originals)
    text = _first_text(bodies)
    if not originals:  # a bounce that pastes the original inline
        mark = _COPY_MARK.search(text)
        if mark is not None and mark.start() > 0:
            originals.append(text[mark.end() :])
            text = text[: mark.start()]
    mail.text = text
    mail.original = "\n".join(originals)
    return mail


def _walk(part: Message, mail: Mail, bodies: list[tuple[str, str]], originals: list[str]) -> None:
    kind = part.get_content_type()
    if kind in (
        "message/rfc822",
        "message/global",
        "text/rfc822-headers",
        "message/rfc822-headers",
        "message/global-headers",
        "text/rfc822",
        "message/partial",
    ):
        payload = part.get_payload()
        if isinstance(payload, list) and payload:
            original = payload[0].as_string() if isinstance(payload[0], Message) else ""
            originals.append(unescaped(original))
        else:
            originals.append(part_text(part))
        return
    if kind in ("message/delivery-status", "message/global-delivery-status"):
        mail.status_fields.extend(b for b in _status_blocks(part) if b)
        return
    if kind == "message/feedback-report":
        mail.feedback = {}
        for block in _status_blocks(part):
            mail.feedback.update(block)
        return
    if kind == "message/disposition-notification":
        mail.mdn = True
        return
    payload = part.get_payload()
    if part.get_content_maintype() == "multipart" and isinstance(payload, str):
        bodies.append(("text/plain", unescaped(payload)))  # a boundary the parser did not find
        return
    if part.is_multipart():
        if isinstance(payload, list):
            subs = [sub for sub in payload if isinstance(sub, Message)]
            if kind == "multipart/alternative":  # the plain text, unless it is empty
                plain = [
                    sub
                    for sub in subs
                    if sub.get_content_type() == "text/plain" and part_text(sub).strip()
                ]
                subs = plain[:1] or subs
            for sub in subs:
                _walk(sub, mail, bodies, originals)
        return
    if kind in ("text/plain", "text/html"):
        disposition = (part.get("Content-Disposition") or "").lower()
        if "attachment" not in disposition or not bodies:
            bodies.append((kind, part_text(part)))


# Where a reply's quoted original begins, in the mail clients of the languages we read.
_QUOTE_START = re.compile(
    r"^(?:"
    r"-{2,} ?(?:original message|ursprüngliche nachricht|message d'origine|mensaje original|"
    r"messaggio originale|oorspronkelijk bericht|mensagem original|wiadomość oryginalna|"
    r"originalmeddelande|oprindelig meddelelse|opprinnelig melding|forwarded message|"
    r"weitergeleitete nachricht|message transféré) ?-{2,}"
    r"|_{20,}"
    r"|(?:on|am|le|el|il|op|em|dnia|den|på|в) .{4,200}(?:wrote|schrieb|a écrit|escribió|"
    r"ha scritto|schreef|escreveu|napisał\(a\)|napisał|skrev|написал)\s*:"
    r"|.{0,200}(?:wrote|schrieb|a écrit|escribió|ha scritto|schreef|escreveu|skrev)\s*:\s*$"
    r"|(?:from|von|de|van|da|od|från|fra|发件人|差出人)\s*:.*\n(?:.*\n){0,3}"
    r"(?:sent|gesendet|envoyé|enviado|inviato|verzonden|wysłano|skickat|sendt|发送时间|送信日時|date|datum)\s*:"
    r"|在.{2,80}写道\s*[:：]"
    r"|.{0,80}のメッセージ\s*[:：]?\s*$"
    r")",
    re.I | re.M,
)


def quote_start(text: str) -> int:
    """Where the message a reply or a forward quotes begins (``len(text)`` if nowhere)."""
    match = _QUOTE_START.search(text)
    return match.start() if match is not None else len(text)


def unquoted(text: str) -> str:
    """The text someone wrote, without the message they are replying to."""
    text = text[: quote_start(text)]
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))
