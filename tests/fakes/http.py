"""A small HTTP/1.1 server on loopback for the fake gateways, able to misbehave on demand.

A handler gets the request and answers `Reply(status, json)`, or `DROP` (close the connection
without answering) or `HANG` (never answer: the client times out).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)
    raw: bytes | None = None


DROP = object()
HANG = object()

Handler = Callable[[Request], Awaitable[Any]]

_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class HttpServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.server: asyncio.Server | None = None
        self.port = 0
        self._connections: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> HttpServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for writer in list(self._connections):
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def __aenter__(self) -> HttpServer:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    header = await reader.readline()
                    if header in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = header.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                body = await reader.readexactly(length) if length else b""
                path, _, query = target.partition("?")
                answer = await self.handler(Request(method, path, query, headers, body))
                if answer is DROP:
                    writer.transport.abort()
                    return
                if answer is HANG:
                    await asyncio.sleep(3600)
                    return
                reply = answer if isinstance(answer, Reply) else Reply(200, answer)
                payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                head = (
                    f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}\r\n"
                    f"Content-Type: application/json; charset=utf-8\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n"
                )
                writer.write(head.encode() + payload)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            self._connections.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()


class FakeHttpService:
    """What every fake HTTP peer shares: a loopback server, failures on demand, `async with`."""

    path = ""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.http = HttpServer(self.handle)

    @property
    def url(self) -> str:
        return self.http.url + self.path

    def fail_next(self, *modes: str) -> None:
        self.failures.extend(modes)

    async def __aenter__(self):  # noqa: ANN204 - returns the subclass
        await self.http.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.stop()

    async def handle(self, request: Request) -> object:
        raise NotImplementedError
