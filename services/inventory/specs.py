"""What callers pass in: the input and filter dataclasses of the stock services, and `Pair`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

Pair = tuple[uuid.UUID, uuid.UUID]  # (warehouse_id, variant_id): the key of a stock level


@dataclass(frozen=True)
class ReservationRequest:
    order_line_id: uuid.UUID
    warehouse_id: uuid.UUID
    variant_id: uuid.UUID
    quantity_milli: int
    field: tuple[str, ...] = ()  # where in the caller's input this line is, for the error


@dataclass
class WarehouseInput:
    """A create or an update; on update None means 'leave as it is'."""

    name: str | None = None
    kind: str | None = None
    supplier_id: object | None = None


@dataclass
class WarehouseFilter:
    kinds: list[str] | None = None
    archived: bool | None = False
    search: str | None = None


@dataclass
class DocumentLineSpec:
    variant_id: object | None = None
    sku: str | None = None
    quantity: Decimal | str | int | None = None
    unit_cost: Decimal | str | int | None = None


@dataclass
class DocumentSpec:
    kind: str
    warehouse_id: object
    lines: list[DocumentLineSpec]
    to_warehouse_id: object | None = None
    comment: str | None = None
    reason: str | None = None


@dataclass
class DocumentFilter:
    kinds: list[str] | None = None
    warehouse_ids: list[object] | None = None
    variant_ids: list[object] | None = None


@dataclass
class StockFilter:
    variant_ids: list[object] | None = None
    skus: list[str] | None = None
    warehouse_ids: list[object] | None = None
    warehouse_kinds: list[str] | None = None
    group_id: object | None = None
