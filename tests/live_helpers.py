"""What the live-feed tests share: real uvicorn server processes and a WebSocket GraphQL client.

No tests here. `ServerProcess` runs `uvicorn api.main:app` on a free loopback port against the
test database (and Redis); `LiveClient` speaks `graphql-transport-ws` or the legacy `graphql-ws`
the way browser and Python clients do. Every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"

ORDER_EVENTS = """subscription($types: [OrderEventType!], $channelIds: [ID!], $mine: Boolean,
  $afterEventId: ID) { orderEvents(types: $types, channelIds: $channelIds, mine: $mine,
  afterEventId: $afterEventId) { id type at fromStatus toStatus orderId } }"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`uvicorn api.main:app` (or another `command`) in its own process, on a free loopback port."""

    def __init__(
        self, database_url: str, redis_url: str | None, *, command: list[str] | None = None, **env: str
    ) -> None:
        self.port = free_port()
        self.database_url = database_url
        self.redis_url = redis_url
        self.command = command or [
            *(
                sys.executable,
                "-m",
                "uvicorn",
                "api.main:app",
                "--host",
                "127.0.0.1",
                "--log-level",
                "warning",
            )
        ]
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.log = Path(tempfile.mkstemp(prefix="bo_live_", suffix=".log")[1])

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    async def start(self, within: float = 20.0) -> ServerProcess:
        env = {**os.environ, "DATABASE_URL": self.database_url, "LOG_LEVEL": "warning", **self.env}
        env.pop("REDIS_URL", None)
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        with self.log.open("wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                *self.command,
                "--port",
                str(self.port),
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # uvicorn's worker processes stop with it
            )
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.output()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.http_url}/health/live")).status_code == 200:
                        return self
                await asyncio.sleep(0.1)
        await self.stop()
        raise RuntimeError(f"server did not come up in {within}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    async def stats(self) -> dict:
        async with httpx.AsyncClient(timeout=5.0) as http:
            return (await http.get(f"{self.http_url}/health/live")).json()

    async def graphql(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = {"query": query, "variables": variables or {}}
        async with httpx.AsyncClient(timeout=10.0) as http:
            return (await http.post(f"{self.http_url}/graphql", json=body, headers=headers)).json()

    async def stop(self) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


class Rejected(Exception):
    """The server refused the connection in connection_init."""


class Ended(Exception):
    """The operation completed (or errored) instead of giving the next result."""

    def __init__(self, errors: list) -> None:
        super().__init__(f"operation ended: {errors}")
        self.errors = errors


class LiveClient:
    """One WebSocket connection speaking graphql-transport-ws or graphql-ws."""

    def __init__(self, ws: Any, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self.queues: dict[str, asyncio.Queue] = {}
        self.reader: asyncio.Task | None = None
        self.closed: str | None = None

    @classmethod
    async def connect(
        cls,
        url: str,
        token: str | None,
        protocol: str = TRANSPORT_WS,
        *,
        within: float = 5.0,
        payload: dict | None = None,
        **options: Any,
    ) -> LiveClient:
        ws = await websockets.connect(
            url, subprotocols=[protocol], open_timeout=within, proxy=None, compression=None, **options
        )
        if payload is None:
            payload = {"authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        try:
            async with asyncio.timeout(within):
                while True:
                    message = json.loads(await ws.recv())
                    if message["type"] == "connection_ack":
                        break
                    if message["type"] == "connection_error":
                        raise Rejected(json.dumps(message.get("payload")))
        except websockets.ConnectionClosed as exc:
            raise Rejected(f"closed {exc.rcvd.code if exc.rcvd else None}: {exc.rcvd}") from exc
        except Rejected:
            await ws.close()
            raise
        client = cls(ws, protocol)
        client.reader = asyncio.create_task(client._read())
        return client

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "ping":
                    await self.ws.send(json.dumps({"type": "pong"}))
                    continue
                queue = self.queues.get(message.get("id", ""))
                if queue is not None:
                    queue.put_nowait(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed = "closed"
            for queue in self.queues.values():
                queue.put_nowait({"type": "closed"})

    async def subscribe(self, query: str, variables: dict | None = None) -> str:
        op = uuid.uuid4().hex[:8]
        self.queues[op] = asyncio.Queue()
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        payload = {"query": query, "variables": variables or {}}
        await self.ws.send(json.dumps({"id": op, "type": kind, "payload": payload}))
        return op

    async def next(self, op: str, within: float = 5.0) -> dict:
        """The next result of the operation (`{"data": ..., "errors": ...}`); raises Ended."""
        async with asyncio.timeout(within):
            message = await self.queues[op].get()
        kind = message["type"]
        if kind in ("next", "data"):
            payload = message["payload"]
            if payload.get("errors"):
                raise Ended(payload["errors"])
            return payload["data"]
        if kind == "error":
            errors = message.get("payload")
            raise Ended(errors if isinstance(errors, list) else [errors])
        raise Ended([{"message": kind}])

    async def events(self, op: str, count: int, within: float = 5.0) -> list[dict]:
        """The next `count` orderEvents of the operation."""
        return [(await self.next(op, within))["orderEvents"] for _ in range(count)]

    async def quiet(self, op: str, within: float = 0.5) -> bool:
        """Whether nothing arrives for the operation for `within` seconds."""
        try:
            async with asyncio.timeout(within):
                message = await self.queues[op].get()
        except TimeoutError:
            return True
        self.queues[op].put_nowait(message)
        return False

    async def stop(self, op: str) -> None:
        kind = "complete" if self.protocol == TRANSPORT_WS else "stop"
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.ws.send(json.dumps({"id": op, "type": kind}))
        self.queues.pop(op, None)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader

    def abort(self) -> None:
        """Drops the TCP connection without a closing handshake, like a client that vanished."""
        self.ws.transport.abort()


async def wait_until(check: Any, within: float = 10.0, every: float = 0.1) -> Any:
    """Polls the async `check` until it returns something truthy; that value, or the last on timeout."""
    deadline = time.monotonic() + within
    value = None
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(every)
    return value
