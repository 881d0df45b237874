"""Raw SQL for hot paths (reservations, the event log's counter), where building the same
statement through the ORM costs more than running it.

Statements are written for PostgreSQL ($1, $2, … each used once, in order) and run on the
current transaction's connection; for SQLite the placeholders become `?`.
"""

from __future__ import annotations

import re

from tortoise import connections

_SQLITE_TEXT: dict[str, str] = {}


def _dialect_sql(connection: object, sql: str) -> str:
    if connection.capabilities.dialect != "sqlite":  # type: ignore[attr-defined]
        return sql
    text = _SQLITE_TEXT.get(sql)
    if text is None:
        text = _SQLITE_TEXT[sql] = re.sub(r"\$\d+", "?", sql)
    return text


async def raw_count(sql: str, values: list[object]) -> int:
    connection = connections.get("default")
    count, _ = await connection.execute_query(_dialect_sql(connection, sql), values)
    return count


async def raw_rows(sql: str, values: list[object]) -> list[dict]:
    connection = connections.get("default")
    return await connection.execute_query_dict(_dialect_sql(connection, sql), values)
