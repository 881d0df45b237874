"""A fake SMTP server (aiosmtpd) on loopback: a mailbox that can fail on demand.

`transmissions` is every message the server accepted, duplicates included; `mailbox` keeps one per
Message-ID, as mailbox providers do when the same message is delivered twice.
`fail_next(*modes)` makes the next messages fail: "451" (try later), "550" (refused), "drop"
(the connection closes before the message is accepted), "drop_after" (accepted, then the
connection closes before the client hears so), "hang" (no answer until the client times out).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP


class Mail:
    """One accepted message; the headers and body are parsed when first read (parsing every
    message as it arrives would make the fake server slower than what it measures)."""

    def __init__(self, to: str, message_id: str, raw: bytes) -> None:
        self.to = to
        self.message_id = message_id
        self.raw = raw
        self._parsed: EmailMessage | None = None

    @property
    def parsed(self) -> EmailMessage:
        if self._parsed is None:
            self._parsed = message_from_bytes(self.raw, policy=policy.default)  # type: ignore[assignment]
        return self._parsed  # type: ignore[return-value]

    @property
    def subject(self) -> str:
        return str(self.parsed.get("Subject", ""))

    @property
    def headers(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.parsed.items()}

    @property
    def body(self) -> str:
        part = self.parsed.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""


_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(.+?)\r?$", re.IGNORECASE | re.MULTILINE)


class FakeSmtp:
    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.transmissions: list[Mail] = []
        self.mailbox: dict[str, Mail] = {}
        self.failures: list[str] = []
        self.refused: set[str] = set()
        self.server: asyncio.base_events.Server | None = None
        self.port = 0

    def fail_next(self, *modes: str) -> None:
        self.failures.extend(modes)

    def per_recipient(self) -> Counter[str]:
        """How many distinct messages (by Message-ID) each address got."""
        return Counter(mail.to for mail in self.mailbox.values())

    async def start(self) -> FakeSmtp:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(self, hostname="fake-smtp.local", enable_SMTPUTF8=True, auth_require_tls=False),
            "127.0.0.1",
            0,
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def __aenter__(self) -> FakeSmtp:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # aiosmtpd handler hooks

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, N802
        if address.lower() in self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        mode = self.failures.pop(0) if self.failures else ""
        if self.delay:
            await asyncio.sleep(self.delay)
        if mode == "451":
            return "451 4.3.0 try again later"
        if mode == "550":
            return "550 5.7.1 message refused"
        if mode == "drop":
            server.transport.abort()
            return "421 closing"
        if mode == "hang":
            await asyncio.sleep(3600)
        raw = envelope.original_content or envelope.content
        head = raw.split(b"\r\n\r\n", 1)[0]
        found = _MESSAGE_ID.search(head)
        message_id = found.group(1).decode().strip() if found else ""
        for to in envelope.rcpt_tos:
            mail = Mail(to.lower(), message_id, raw)
            self.transmissions.append(mail)
            self.mailbox.setdefault(message_id or f"no-id-{len(self.transmissions)}", mail)
        if mode == "drop_after":
            server.transport.abort()
            return "421 closing"
        return f"250 2.0.0 OK queued as {len(self.transmissions)}"
