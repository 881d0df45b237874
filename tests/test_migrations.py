"""Migrations: they apply to an empty database, and they agree with the models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from services.migrations import pending_model_changes

ROOT = Path(__file__).resolve().parent.parent


def test_the_models_and_the_migrations_agree():
    pending = _run_async(pending_model_changes("sqlite://:memory:"))
    assert pending == [], (
        "models changed without a migration: run `.venv/bin/backoffice makemigrations --name <what>`\n"
        + "\n".join(pending)
    )


def test_backoffice_migrate_builds_a_fresh_database_that_serves(tmp_path):
    database = tmp_path / "fresh.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite://{database}"}
    backoffice = Path(sys.executable).parent / "backoffice"
    result = subprocess.run(
        [str(backoffice), "migrate"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    again = subprocess.run([str(backoffice), "migrate"], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    import sqlite3

    tables = {
        r[0] for r in sqlite3.connect(database).execute("select name from sqlite_master where type='table'")
    }
    assert {"account", "app_user", "product", "variant", "price", "customer", "supplier"} <= tables


def _run_async(coro):
    import asyncio

    # Its own loop in a thread: the suite's loop holds the test database's connections.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
