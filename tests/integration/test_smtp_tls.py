"""SMTP over STARTTLS and implicit TLS, with a login, against servers whose certificate comes
from a throwaway CA: trusted when the mailbox names the CA, refused (and nothing sent) when not."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from cadence.core.config import Mailbox
from cadence.services.email.smtp_pool import NotDelivered, SmtpPool
from tests.utils.net import free_port


class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[bool, bytes]] = []  # (STARTTLS used, message)

    def login(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"rita", b"pw")
        return AuthResult(success=ok)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append((session.ssl is not None, envelope.original_content or b""))
        return "250 OK"


@pytest.fixture
def ca(tmp_path: Path) -> tuple[trustme.CA, str, ssl.SSLContext]:
    authority = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server)
    pem = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(pem))
    return authority, str(pem), server


@pytest.fixture
async def servers(
    ca: tuple[trustme.CA, str, ssl.SSLContext],
) -> AsyncIterator[tuple[dict[str, int], Inbox]]:
    _, _, context = ca
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    starttls, implicit = free_port(), free_port()
    plain = await loop.create_server(
        lambda: SMTP(inbox, tls_context=context, require_starttls=True,
                     authenticator=inbox.login, auth_required=True),
        host="127.0.0.1", port=starttls,
    )  # fmt: skip
    wrapped = await loop.create_server(
        lambda: SMTP(inbox, authenticator=inbox.login, auth_required=True,
                     auth_require_tls=False),  # the whole connection is TLS already
        host="127.0.0.1", port=implicit, ssl=context,
    )  # fmt: skip
    yield {"starttls": starttls, "tls": implicit}, inbox
    plain.close()
    wrapped.close()


def message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "rita@seller.example", "ada@example.com", "TLS"
    msg["Message-ID"] = "<tls@cadence.local>"
    msg.set_content("over TLS")
    return msg


async def send(box: Mailbox) -> None:
    pool = SmtpPool(box, size=1)
    await asyncio.to_thread(
        pool.send, message(), sender="rita@seller.example", to="ada@example.com"
    )


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("mode", ["starttls", "tls"])
async def test_tls_with_a_login_to_a_server_the_mailbox_trusts(
    mode: str,
    ca: tuple[trustme.CA, str, ssl.SSLContext],
    servers: tuple[dict[str, int], Inbox],
) -> None:
    _, pem, _ = ca
    ports, inbox = servers
    login = {"username": "rita", "password": "pw"}
    box = Mailbox(host="127.0.0.1", port=ports[mode], ca_file=pem, **{mode: True}, **login)
    await send(box)
    assert len(inbox.received) == 1 and b"over TLS" in inbox.received[0][1]
    untrusted = Mailbox(host="127.0.0.1", port=ports[mode], **{mode: True}, **login)
    with pytest.raises(NotDelivered, match="CERTIFICATE_VERIFY_FAILED"):
        await send(untrusted)
    no_tls = Mailbox(host="127.0.0.1", port=ports["starttls"], **login)
    if mode == "starttls":  # the server insists on STARTTLS before anything else
        with pytest.raises(NotDelivered):
            await send(no_tls)
    assert len(inbox.received) == 1  # nothing went out in the clear or unverified
