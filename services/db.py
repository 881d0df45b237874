"""The database: Tortoise configuration, transactions, and account-scoped look-ups."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tortoise import Tortoise
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models import MODEL_MODULES
from services.access import Actor
from services.errors import NotFound

M = TypeVar("M", bound=Model)
log = logging.getLogger("backoffice.db")

__all__ = [
    "tortoise_config",
    "init_database",
    "close_database",
    "transaction",
    "get_owned",
    "parse_id",
    "rows_by_ids",
]


def tortoise_config(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite://"):
        path = database_url.removeprefix("sqlite://")
        if path not in (":memory:", "") and not path.startswith("/"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    return {
        "connections": {"default": database_url},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_database(database_url: str) -> None:
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_database() -> None:
    await Tortoise.close_connections()


# Callbacks to run once the outermost transaction has committed (publishing events, enqueuing
# jobs): never for work that rolled back, and never before other processes can see the rows.
_after_commit: contextvars.ContextVar[list[AfterCommit] | None] = contextvars.ContextVar(
    "after_commit", default=None
)
AfterCommit = Callable[[], Awaitable[None]]


@contextlib.asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """A transaction on the default connection; nested ones are savepoints.

    Services own these; resolvers never open one. What `on_commit` registers inside runs after
    the outermost one commits; what a rolled-back (nested) block registered is dropped.
    """
    pending = _after_commit.get()
    outermost = pending is None
    if outermost:
        pending = []
        token = _after_commit.set(pending)
    mark = len(pending)
    try:
        async with in_transaction("default"):
            yield
    except BaseException:
        del pending[mark:]
        if outermost:
            _after_commit.reset(token)
        raise
    if outermost:
        _after_commit.reset(token)
        for callback in pending:
            try:
                await callback()
            except Exception:  # the data is committed: a failed notification must not undo the answer
                log.exception("after-commit callback failed")


def on_commit(callback: AfterCommit) -> None:
    """Runs `callback` after the current transaction commits, or at once outside a transaction."""
    pending = _after_commit.get()
    if pending is None:
        raise RuntimeError("on_commit outside a transaction: call the callback directly")
    pending.append(callback)


def parse_id(raw: object, field: Sequence[str], what: str) -> uuid.UUID:
    """An id from the API as a UUID; a malformed one is reported as not found (ids are opaque)."""
    if isinstance(raw, uuid.UUID):
        return raw
    try:
        return uuid.UUID(str(raw))
    except (ValueError, TypeError, AttributeError) as exc:
        raise NotFound(field, what) from exc


async def get_owned(
    model: type[M],
    actor: Actor,
    raw_id: object,
    *,
    field: Sequence[str] = ("id",),
    what: str | None = None,
    for_update: bool = False,
) -> M:
    """The object with this id in the actor's account, or NOT_FOUND (also for another account's object)."""
    name = what or model.__name__.lower()
    object_id = parse_id(raw_id, field, name)
    query = model.filter(id=object_id, account_id=actor.account_id)
    if for_update:
        query = query.select_for_update()
    found = await query.first()
    if found is None:
        raise NotFound(field, name)
    return found


async def rows_by_ids(model: type[M], account_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, M]:
    """Rows of `model` by id within one account, in one query: what the loaders use for to-one relations."""
    rows = await model.filter(account_id=account_id, id__in=list(set(ids)))
    return {row.id: row for row in rows}
