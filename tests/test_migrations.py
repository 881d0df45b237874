"""Migrations: they apply to an empty database (twice over: the second run is a no-op), and they
agree with the models.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tortoise import Tortoise

from services.db import tortoise_config
from services.migrations import pending_model_changes
from tests.conftest import _pg_admin, _pg_url

TABLES = {"account", "app_user", "access_token", "product", "variant", "price", "customer", "supplier"}


def _in_own_loop(coro):
    # Its own loop in a thread: the suite's loop holds the test database's connections.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_the_models_and_the_migrations_agree():
    pending = _in_own_loop(pending_model_changes("sqlite://:memory:"))
    assert pending == [], (
        "models changed without a migration: run `.venv/bin/backoffice makemigrations --name <what>`\n"
        + "\n".join(pending)
    )


async def _tables(url: str) -> set[str]:
    await Tortoise.init(config=tortoise_config(url))
    try:
        connection = Tortoise.get_connection("default")
        if url.startswith("sqlite"):
            rows = await connection.execute_query_dict("select name from sqlite_master where type='table'")
        else:
            rows = await connection.execute_query_dict(
                "select table_name as name from information_schema.tables where table_schema='public'"
            )
        return {r["name"] for r in rows}
    finally:
        await Tortoise.close_connections()


async def test_backoffice_migrate_builds_a_fresh_database_of_the_suites_backend(db, tmp_path):
    if db.name == "postgres":
        name = f"bo_migrate_{uuid.uuid4().hex[:8]}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        url = _pg_url(name)
    else:
        url = f"sqlite://{tmp_path / 'fresh.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": url}
    backoffice = str(Path(sys.executable).parent / "backoffice")
    try:
        for _ in range(2):
            result = await asyncio.to_thread(
                subprocess.run, [backoffice, "migrate"], env=env, capture_output=True, text=True, timeout=120
            )
            assert result.returncode == 0, result.stderr
        assert TABLES <= await asyncio.to_thread(_in_own_loop, _tables(url))
    finally:
        if db.name == "postgres":
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
