"""A minimal IMAP4rev1 server for tests: one user, one read-only folder of Message-IDs.

It answers what a Sent-folder check uses: CAPABILITY, LOGIN, EXAMINE/SELECT, SEARCH HEADER
Message-ID, LOGOUT.
"""

from __future__ import annotations

import asyncio
import shlex


class FakeImap:
    def __init__(self, user: str, password: str, folder: str, message_ids: list[str]) -> None:
        self.user, self.password, self.folder = user, password, folder
        self.message_ids = message_ids
        self.logins: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def say(line: str) -> None:
            writer.write(line.encode() + b"\r\n")

        say("* OK fake IMAP ready")
        authed = False
        while line := (await reader.readline()).decode().strip():
            tag, command, *rest = shlex.split(line)
            command = command.upper()
            if command == "CAPABILITY":
                say("* CAPABILITY IMAP4rev1")
                say(f"{tag} OK done")
            elif command == "LOGIN":
                self.logins.append(rest[0])
                authed = rest == [self.user, self.password]
                say(f"{tag} OK logged in" if authed else f"{tag} NO [AUTHENTICATIONFAILED] no")
            elif command in ("SELECT", "EXAMINE") and authed:
                if rest[0] != self.folder:
                    say(f"{tag} NO [NONEXISTENT] no such folder")
                else:
                    say(f"* {len(self.message_ids)} EXISTS")
                    say(f"{tag} OK [READ-ONLY] done")
            elif command == "SEARCH" and authed:
                wanted = rest[-1]
                hits = [str(i + 1) for i, m in enumerate(self.message_ids) if m == wanted]
                say("* SEARCH" + "".join(f" {h}" for h in hits))
                say(f"{tag} OK done")
            elif command == "LOGOUT":
                say("* BYE")
                say(f"{tag} OK bye")
                await writer.drain()
                break
            else:
                say(f"{tag} BAD not here")
            await writer.drain()
        writer.close()
