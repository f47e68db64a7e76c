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


class FakeInbox:
    """An IMAP inbox for the poller's tests: UIDs, UIDVALIDITY, UID SEARCH and UID FETCH.

    ``add`` delivers a message (the next UID); ``renumber`` starts a new UIDVALIDITY, as a
    server does when it rebuilds a folder.
    """

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.uidvalidity = 1000
        self.messages: dict[int, bytes] = {}
        self.next_uid = 1
        self.fetched: list[int] = []

    def add(self, raw: bytes) -> int:
        uid, self.next_uid = self.next_uid, self.next_uid + 1
        self.messages[uid] = raw
        return uid

    def renumber(self) -> None:
        self.uidvalidity += 1
        old, self.messages, self.next_uid = list(self.messages.values()), {}, 1
        for raw in old:
            self.add(raw)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def say(line: str) -> None:
            writer.write(line.encode() + b"\r\n")

        say("* OK [CAPABILITY IMAP4rev1] fake inbox ready")
        authed = False
        while line := (await reader.readline()).decode().strip():
            tag, command, *rest = shlex.split(line)
            command = command.upper()
            if command == "CAPABILITY":
                say("* CAPABILITY IMAP4rev1")
                say(f"{tag} OK done")
            elif command == "LOGIN":
                authed = rest == [self.user, self.password]
                say(f"{tag} OK logged in" if authed else f"{tag} NO [AUTHENTICATIONFAILED] no")
            elif command in ("SELECT", "EXAMINE") and authed:
                say(f"* {len(self.messages)} EXISTS")
                say(f"* OK [UIDVALIDITY {self.uidvalidity}] UIDs valid")
                say(f"* OK [UIDNEXT {self.next_uid}] next")
                say(f"{tag} OK [READ-WRITE] done")
            elif command == "UID" and authed and rest[0].upper() == "SEARCH":
                low, _, high = rest[-1].partition(":")
                uids = sorted(self.messages)
                top = uids[-1] if uids else 0
                first = int(low)
                last = top if high == "*" else int(high)
                hits = [u for u in uids if min(first, top) <= u <= max(last, 0)] if uids else []
                say("* SEARCH" + "".join(f" {u}" for u in hits))
                say(f"{tag} OK done")
            elif command == "UID" and authed and rest[0].upper() == "FETCH":
                uid = int(rest[1])
                if uid in self.messages:
                    self.fetched.append(uid)
                    raw = self.messages[uid]
                    seq = sorted(self.messages).index(uid) + 1
                    writer.write(f"* {seq} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n".encode())
                    writer.write(raw + b")\r\n")
                say(f"{tag} OK done")
            elif command == "NOOP":
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
