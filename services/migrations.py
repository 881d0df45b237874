"""Applying the Tortoise migrations in migrations/, and checking that the models agree with them."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.migrations.api import migrate
from tortoise.migrations.autodetector import MigrationAutodetector

from services.db import tortoise_config


async def apply_migrations(database_url: str) -> None:
    try:
        await migrate(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()


async def pending_model_changes(database_url: str) -> list[str]:
    """Names of migrations `makemigrations` would write now; empty when models and migrations agree."""
    config = tortoise_config(database_url)
    await Tortoise.init(config=config, init_connections=False)
    try:
        detector = MigrationAutodetector(Tortoise.apps, config["apps"])
        writers = await detector.changes()
        return [f"{w.app_label}.{w.name}: {w.operations!r}" for w in writers]
    finally:
        await Tortoise.close_connections()


async def make_migrations(database_url: str, name: str | None = None) -> list[str]:
    """Writes the migrations that bring migrations/ up to the models; returns their paths."""
    config = tortoise_config(database_url)
    await Tortoise.init(config=config, init_connections=False)
    try:
        writers = await MigrationAutodetector(Tortoise.apps, config["apps"]).changes()
        paths = []
        for writer in writers:
            if name:
                number = writer.name.split("_", 1)[0]
                writer.name = f"{number}_{name}"
            paths.append(str(writer.write()))
        return paths
    finally:
        await Tortoise.close_connections()
