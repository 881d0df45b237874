"""What the worker, campaign and fiscal tests share: a fast in-process queue, a real
`backoffice worker` process, a private redis-server, and bulk customers.

No tests here; the other test files import from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from models.customers import Customer
from services import fiscal, queue
from tests.conftest import Company

ROOT = Path(__file__).resolve().parents[1]
ERRORS = "userErrors { field code message }"


@pytest.fixture(name="in_process")
async def in_process_fixture() -> AsyncIterator[queue.InProcessQueue]:
    """The embedded default, with retries quick enough for tests."""
    queue.configure(queue.QueueConfig(max_tries=4, retry_base_seconds=0.05, retry_cap_seconds=0.5))
    previous_poll = fiscal.POLL_DELAY_SECONDS
    fiscal.POLL_DELAY_SECONDS = 0.05
    running = queue.use_in_process()
    try:
        yield running
    finally:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(20):
                await running.drain()
        await running.close()
        queue.use_queue(None)
        queue.configure(queue.QueueConfig())
        fiscal.POLL_DELAY_SECONDS = previous_poll


async def drain(running: queue.InProcessQueue, seconds: float = 30) -> None:
    async with asyncio.timeout(seconds):
        await running.drain()


async def wait_until(check: Callable[[], Awaitable[bool]], seconds: float = 30, every: float = 0.1) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not so after {seconds}s: {check.__name__}")
        await asyncio.sleep(every)


async def add_customers(
    company: Company, count: int, *, prefix: str = "c", tags: tuple[str, ...] = (), **fields: object
) -> list[Customer]:
    """`count` customers with emails and phones, written in bulk (the setup, not the behaviour)."""
    tags_key = "," + ",".join(tags) + "," if tags else ""
    rows = []
    for n in range(count):
        email = f"{prefix}{n}-{uuid.uuid4().hex[:6]}@example.com"
        phone = f"+7900{n:07d}"
        values = {"email_consent": True, "sms_consent": True, "country": "Russia", **fields}
        rows.append(
            Customer(
                id=uuid.uuid4(),
                account_id=uuid.UUID(company.account_id),
                name=f"{prefix.title()} Customer{n}",
                emails=[email],
                phones=[phone],
                tags=list(tags),
                tags_key=tags_key,
                search_text=email,
                **values,
            )
        )
    for start in range(0, len(rows), 500):
        await Customer.bulk_create(rows[start : start + 500])
    return rows


UPDATE_MESSAGING = f"""mutation($input: UpdateMessagingSettingsInput!) {{
  updateMessagingSettings(input: $input) {{
  messagingSettings {{ smtpHost smtpPort fromEmail smsGatewayUrl smsMaxLength smtpPasswordSet }}
  {ERRORS} }} }}"""


async def use_smtp(company: Company, port: int) -> None:
    await company.api.mutate(
        "updateMessagingSettings",
        UPDATE_MESSAGING,
        {
            "input": {
                "smtpHost": "127.0.0.1",
                "smtpPort": port,
                "smtpSecurity": "NONE",
                "fromEmail": "shop@example.com",
                "fromName": "The Shop",
                "publicUrl": "http://shop.test",
            }
        },
    )


async def use_sms(company: Company, url: str, *, key: str = "sms-key", max_length: int = 335) -> None:
    await company.api.mutate(
        "updateMessagingSettings",
        UPDATE_MESSAGING,
        {
            "input": {
                "smsGatewayUrl": url,
                "smsGatewayKey": key,
                "smsMaxLength": max_length,
                "smsSender": "Shop",
            }
        },
    )


class Held:
    """A queue that keeps what is enqueued until `release` hands it to the real one."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple, dict]] = []

    async def enqueue(self, *args: object, **kwargs: object) -> bool:
        self.calls.append((args, kwargs))
        return True

    async def close(self) -> None:
        pass

    async def release(self, into: queue.Queue) -> None:
        calls, self.calls = self.calls, []
        for args, kwargs in calls:
            await into.enqueue(*args, **kwargs)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A private redis-server on a free port, to stop and start again under a running worker."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


class WorkerProcess:
    """`backoffice worker` as a real process on its own queue, killed or stopped on demand."""

    def __init__(self, database_url: str, redis_url: str, queue_name: str, **env: str) -> None:
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "WORKER_QUEUE": queue_name,
            "JOB_RETRY_BASE_SECONDS": "0.2",
            "WORKER_HEARTBEAT_SECONDS": "0.3",
            "FISCAL_POLL_SECONDS": "0.2",
            "LOG_LEVEL": "info",
            **env,
        }
        self.process: subprocess.Popen | None = None
        self.log = Path(tempfile.mkdtemp(prefix="bo_worker_")) / "worker.log"

    def start(self) -> WorkerProcess:
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "worker"], cwd=ROOT, env=self.env, stdout=out, stderr=out
        )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as when a machine dies."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture(name="arq_queue")
async def arq_queue_fixture(redis_url: str) -> AsyncIterator[queue.ArqQueue]:
    """This test's own arq queue on the shared Redis; the services enqueue into it."""
    name = f"test:{uuid.uuid4().hex[:12]}"
    running = queue.ArqQueue(redis_url, name)
    queue.use_queue(running)
    try:
        yield running
    finally:
        queue.use_queue(None)
        pool = await running.pool()
        await pool.delete(name)
        await running.close()
