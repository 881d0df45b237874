"""Cursor pagination by keyset: stable under inserts, and never an OFFSET scan."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from services.errors import InvalidInput

T = TypeVar("T")

MAX_PAGE_SIZE = 250
DEFAULT_PAGE_SIZE = 50


@dataclass
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    count_total: Callable[[], Awaitable[int]]

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


def _encode(value: object, row_id: uuid.UUID) -> str:
    if isinstance(value, datetime):
        payload = ["t", value.isoformat(), str(row_id)]
    else:
        payload = ["v", value, str(row_id)]
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def _decode(cursor: str) -> tuple[object, uuid.UUID]:
    try:
        tag, value, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if tag == "t":
            value = datetime.fromisoformat(value)
        return value, uuid.UUID(row_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput.one(
            ["after"], "INVALID_CURSOR", "the cursor is not one this API gave out"
        ) from exc


def _check_cursor_value(query: QuerySet, order_by: str, value: object) -> None:
    """A cursor's value must be of the sort column's type: a forged one never reaches the database."""
    field = query.model._meta.fields_map.get(order_by)
    python_type = getattr(field, "field_type", None)
    max_length = getattr(field, "max_length", None) or 10**6
    fits = (
        python_type is None
        or (value is None and getattr(field, "null", False))
        or (
            python_type is int
            and isinstance(value, int)
            and not isinstance(value, bool)
            and abs(value) < 2**63
        )
        or (python_type is str and isinstance(value, str) and len(value) <= max_length)
        or (python_type is datetime and isinstance(value, datetime) and value.tzinfo is not None)
    )
    if not fits:
        raise InvalidInput.one(["after"], "INVALID_CURSOR", "the cursor is not one this API gave out")


def check_page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise InvalidInput.one(["first"], "INVALID_PAGE_SIZE", f"first must be between 0 and {MAX_PAGE_SIZE}")
    return first


async def paginate(query: QuerySet[T], *, order_by: str, first: int | None, after: str | None) -> Page[T]:
    """One page of `query` ordered by `order_by` then id; the total is counted only when asked for."""
    size = check_page_size(first)
    counted = query
    if after:
        value, row_id = _decode(after)
        _check_cursor_value(query, order_by, value)
        query = query.filter(Q(**{f"{order_by}__gt": value}) | Q(**{order_by: value, "id__gt": row_id}))
    rows = await query.order_by(order_by, "id").limit(size + 1) if size else []
    has_next = len(rows) > size
    rows = list(rows[:size])
    cursors = [_encode(getattr(row, order_by), row.id) for row in rows]

    async def count_total() -> int:
        return await counted.count()

    return Page(rows, cursors, has_next, count_total)
