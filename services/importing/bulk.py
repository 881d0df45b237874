"""Bulk writes for the import: many rows in few round trips, within the caller's transaction.

The import writes a year of history at once (hundreds of thousands of order lines and stock
movements); one ORM call per row would take hours. These functions write plain rows of the
domain's own models — the same columns, defaults and account scoping the services use — by
COPY on PostgreSQL and one executemany on SQLite. They never decide a rule themselves: the
caller (services/importing/load.py) has applied the domain's rules before.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from tortoise import connections
from tortoise.expressions import F
from tortoise.models import Model

from models.accounts import Account
from models.events import Event
from models.inventory import StockLevel


def _connection():  # noqa: ANN202 - the Tortoise client (the transaction's, inside one)
    return connections.get("default")


def _is_postgres(conn: object) -> bool:
    return type(conn).__module__.startswith("tortoise.backends.asyncpg")


def _columns(model: type[Model]) -> list[tuple[str, str, object]]:
    """(field name, column, field) of every stored column of the model."""
    meta = model._meta
    return [(name, column, meta.fields_map[name]) for name, column in meta.fields_db_projection.items()]


def _default(field: object) -> object:
    default = getattr(field, "default", None)
    return default() if callable(default) else default


def _sqlite_value(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(" ")
    return value


async def insert_rows(model: type[Model], rows: Sequence[Mapping[str, object]]) -> int:
    """Inserts rows given as {field name: value}; missing fields take the model's defaults."""
    if not rows:
        return 0
    columns = _columns(model)
    defaults = {name: _default(field) for name, _, field in columns}
    conn = _connection()
    table = model._meta.db_table
    if _is_postgres(conn):
        records = [tuple(row.get(name, defaults[name]) for name, _, _ in columns) for row in rows]
        async with conn.acquire_connection() as raw:
            await raw.copy_records_to_table(table, records=records, columns=[c for _, c, _ in columns])
    else:
        records = [
            tuple(_sqlite_value(row.get(name, defaults[name])) for name, _, _ in columns) for row in rows
        ]
        marks = ", ".join("?" for _ in columns)
        names = ", ".join(f'"{c}"' for _, c, _ in columns)
        await conn.execute_many(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', records)
    return len(rows)


async def execute_many(sql: str, values: Sequence[Sequence[object]]) -> None:
    """Runs one statement for many parameter rows; `sql` uses $1, $2... (rewritten to ? on SQLite)."""
    if not values:
        return
    conn = _connection()
    if _is_postgres(conn):
        await conn.execute_many(sql, [list(v) for v in values])
        return
    import re

    text = re.sub(r"\$\d+", "?", sql)
    await conn.execute_many(text, [[_sqlite_value(x) for x in v] for v in values])


async def take_order_numbers(account_id: uuid.UUID, count: int) -> int:
    """Reserves `count` consecutive order numbers from the account's counter; returns the first.

    The same counter `place_order` uses, under the same row lock, so numbers stay gapless.
    """
    account = await Account.filter(id=account_id).select_for_update().get()
    first = account.last_order_number + 1
    await Account.filter(id=account_id).update(last_order_number=account.last_order_number + count)
    return first


async def add_to_stock_levels(
    account_id: uuid.UUID, warehouse_id: uuid.UUID, deltas: Mapping[uuid.UUID, int], now: datetime
) -> None:
    """Adds signed thousandths to the on-hand of these variants in one warehouse, creating levels.

    The caller posts the movements that these deltas sum, in the same transaction: on hand
    stays the sum of the ledger.
    """
    changes = dict(deltas)
    if not changes:
        return
    existing = set(
        await StockLevel.filter(
            account_id=account_id, warehouse_id=warehouse_id, variant_id__in=list(changes)
        ).values_list("variant_id", flat=True)
    )
    new = [
        {
            "id": uuid.uuid4(),
            "account_id": account_id,
            "created_at": now,
            "updated_at": now,
            "warehouse_id": warehouse_id,
            "variant_id": variant_id,
            "on_hand_milli": delta,
            "reserved_milli": 0,
            "incoming_milli": 0,
        }
        for variant_id, delta in changes.items()
        if variant_id not in existing
    ]
    await insert_rows(StockLevel, new)
    await execute_many(
        f'UPDATE "{StockLevel._meta.db_table}" SET on_hand_milli = on_hand_milli + $1, updated_at = $2 '
        "WHERE account_id = $3 AND warehouse_id = $4 AND variant_id = $5",
        [(changes[v], now, account_id, warehouse_id, v) for v in changes if v in existing and changes[v]],
    )


async def append_to_event_log(account_id: uuid.UUID, rows: Sequence[dict]) -> None:
    """Appends past events to the account's log in the order given (their `at` is when they
    happened), taking their positions from the account's counter as `services.events.record`
    does. They are not published: they are history, not news. Call last in the transaction."""
    if not rows:
        return
    await Account.filter(id=account_id).update(event_seq=F("event_seq") + len(rows))
    end = await Account.filter(id=account_id).first().values_list("event_seq", flat=True)
    first = end - len(rows) + 1
    await insert_rows(Event, [row | {"position": first + index} for index, row in enumerate(rows)])
