"""Test fixtures: every storage test runs on SQLite and on PostgreSQL, each a throwaway database.

Tests keep apart by account, not by truncating tables: each test signs up its own companies,
which is also how the product keeps customers apart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tortoise import Tortoise

from api.app import create_app
from api.settings import Settings
from services.db import init_database

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
_ran: dict[str, int] = {"sqlite": 0, "postgres": 0, "redis": 0}


def _reachable(url: str, default_port: int) -> bool:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


# One backend per pytest run: Tortoise caches compiled queries per model, so it cannot switch
# dialects inside one process. `make test` runs the suite once per backend.
BACKEND = os.environ.get("TEST_BACKEND", "sqlite")


POSTGRES_UP = _reachable(PG_ADMIN_URL, 5432)
REDIS_UP = _reachable(REDIS_URL, 6379)


def pytest_configure(config: pytest.Config) -> None:
    if BACKEND not in ("sqlite", "postgres"):
        raise pytest.UsageError("TEST_BACKEND is sqlite or postgres")
    if BACKEND == "postgres" and not POSTGRES_UP:
        raise pytest.UsageError(f"TEST_BACKEND=postgres but PostgreSQL is not reachable at {PG_ADMIN_URL}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    def state(name: str, up: bool) -> str:
        if _ran[name]:
            return f"{name}: ran {_ran[name]} tests"
        return f"{name}: skipped ({'not reachable' if not up else 'no tests selected'})"

    database = state(BACKEND, BACKEND == "sqlite" or POSTGRES_UP)
    terminalreporter.write_line(f"backends — {database}; {state('redis', REDIS_UP)}")


def _pg_url(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@dataclass
class Backend:
    name: str
    database_url: str


@pytest.fixture(scope="session")
async def backend() -> AsyncIterator[Backend]:
    """A fresh database with the migrations applied, opened as the ORM's default connection."""
    if BACKEND == "postgres":
        if not POSTGRES_UP:
            pytest.skip("PostgreSQL is not reachable")
        name = f"bo_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        url = _pg_url(name) + "?minsize=1&maxsize=20"
        cleanup = lambda: _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # noqa: E731
    else:
        folder = tempfile.mkdtemp(prefix="bo_test_")
        url = f"sqlite://{folder}/test.sqlite3"
        cleanup = None
    # The schema comes from the models here; tests/test_migrations.py checks the migrations
    # build the same schema, so several people can add models without renumbering migrations.
    await init_database(url)
    await Tortoise.generate_schemas()
    try:
        yield Backend(BACKEND, url)
    finally:
        await Tortoise.close_connections()
        if cleanup is not None:
            await cleanup()


@pytest.fixture
def db(backend: Backend, request: pytest.FixtureRequest) -> Backend:
    if request.node.get_closest_marker("postgres_only") and backend.name != "postgres":
        pytest.skip("needs PostgreSQL: SQLite has no row locks, so this would prove nothing")
    _ran[backend.name] += 1
    return backend


@pytest.fixture
def redis_url() -> str:
    if not REDIS_UP:
        pytest.skip("Redis is not reachable")
    _ran["redis"] += 1
    return REDIS_URL


@pytest.fixture
def settings(db: Backend) -> Settings:
    return Settings(database_url=db.database_url)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


class Api:
    """Calls /graphql the way a client does, as one caller (or none)."""

    def __init__(self, http: httpx.AsyncClient, token: str | None = None) -> None:
        self.http = http
        self.token = token

    def as_(self, token: str | None) -> Api:
        return Api(self.http, token)

    async def raw(self, query: str, variables: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        return response.json()

    async def ok(self, query: str, variables: dict | None = None) -> dict:
        """The data of a call that must succeed without GraphQL errors."""
        body = await self.raw(query, variables)
        assert not body.get("errors"), body
        return body["data"]

    async def mutate(self, name: str, query: str, variables: dict | None = None) -> dict:
        """The payload of a mutation that must succeed without user errors."""
        payload = (await self.ok(query, variables))[name]
        assert payload["userErrors"] == [], payload["userErrors"]
        return payload


@dataclass
class Company:
    api: Api
    token: str
    account_id: str
    user_id: str
    email: str
    password: str


SIGN_UP = """
mutation($input: SignUpInput!) { signUp(input: $input) {
  token user { id email role } account { id name currency } userErrors { field code message } } }
"""


async def sign_up(http: httpx.AsyncClient, *, currency: str = "RUB", name: str = "Shop") -> Company:
    email = f"owner-{uuid.uuid4().hex[:12]}@example.com"
    password = "correct horse battery"
    body = await Api(http).ok(
        SIGN_UP, {"input": {"companyName": name, "email": email, "password": password, "currency": currency}}
    )
    payload = body["signUp"]
    assert payload["userErrors"] == [], payload
    return Company(
        Api(http, payload["token"]),
        payload["token"],
        payload["account"]["id"],
        payload["user"]["id"],
        email,
        password,
    )


@pytest.fixture
async def company(client: httpx.AsyncClient) -> Company:
    return await sign_up(client)


@pytest.fixture
async def other_company(client: httpx.AsyncClient) -> Company:
    return await sign_up(client, name="Other shop")


class QueryCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(record.getMessage())


@contextmanager
def count_queries() -> Iterator[QueryCounter]:
    """Counts the SQL statements the ORM sends while the block runs."""
    logger = logging.getLogger("tortoise.db_client")
    counter = QueryCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)


def run(coro: Any) -> Any:
    return asyncio.get_event_loop().run_until_complete(coro)
