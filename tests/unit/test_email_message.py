"""The sales email as recipients' mail programs read it: encodings, threading headers."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from email.utils import formataddr

from cadence.services.email.message import build_message, message_id_for


def parsed(
    subject: str = "Grüße, Ada — a quick question", in_reply_to: str | None = None
) -> EmailMessage:
    raw = build_message(
        sender=formataddr(("Rïta Rep", "rita@seller.example")),
        to="ada@example.com",
        subject=subject,
        body="Hallo Ada — schön, dass es dich gibt.\nZweite Zeile",
        message_id="<abc@cadence.local>",
        in_reply_to=in_reply_to,
    ).as_bytes()
    assert raw.isascii()  # 7-bit clean on the wire
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_non_ascii_names_subjects_and_bodies_survive() -> None:
    msg = parsed()
    assert msg["Subject"] == "Grüße, Ada — a quick question"
    assert msg["From"].addresses[0].display_name == "Rïta Rep"
    assert msg["From"].addresses[0].addr_spec == "rita@seller.example"
    body = msg.get_body()
    assert body is not None
    assert body.get_content() == "Hallo Ada — schön, dass es dich gibt.\nZweite Zeile"
    assert msg["Message-ID"] == "<abc@cadence.local>" and msg["Date"] is not None
    assert "In-Reply-To" not in msg


def test_a_threaded_step_points_at_the_previous_message() -> None:
    msg = parsed(subject="Re: Hello", in_reply_to="<first@cadence.local>")
    assert msg["In-Reply-To"] == "<first@cadence.local>"
    assert msg["References"] == "<first@cadence.local>"


def test_message_ids_are_stable_per_enrollment_and_step() -> None:
    first = message_id_for("enrollment/1/2", "intro", "cadence.local")
    assert first == message_id_for("enrollment/1/2", "intro", "cadence.local")
    assert first != message_id_for("enrollment/1/2", "bump", "cadence.local")
    assert first.startswith("<") and first.endswith("@cadence.local>")
