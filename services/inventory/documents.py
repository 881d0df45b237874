"""Reading stock documents: one by id, lists, and their lines, movements and reversals by id."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from tortoise.expressions import Q, Subquery

from models.catalog import Variant
from models.inventory import StockDocument, StockDocumentLine, StockMovement, Warehouse
from services.access import Actor, Permission
from services.db import get_owned
from services.inventory.ownership import owned_ids
from services.inventory.specs import DocumentFilter
from services.pagination import Page, paginate


async def get_document(actor: Actor, document_id: object, field: Sequence[str] = ("id",)) -> StockDocument:
    actor.require(Permission.STOCK_READ)
    return await get_owned(StockDocument, actor, document_id, field=field, what="stock document")


async def list_documents(
    actor: Actor, flt: DocumentFilter, *, first: int | None, after: str | None
) -> Page[StockDocument]:
    """Documents in the order they were posted."""
    actor.require(Permission.STOCK_READ)
    query = StockDocument.filter(account_id=actor.account_id)
    if flt.kinds:
        query = query.filter(kind__in=[k.upper() for k in flt.kinds])
    if flt.warehouse_ids:
        ids = await owned_ids(actor, Warehouse, flt.warehouse_ids, ["filter", "warehouseIds"], "warehouse")
        query = query.filter(Q(warehouse_id__in=ids) | Q(to_warehouse_id__in=ids))
    if flt.variant_ids:
        ids = await owned_ids(actor, Variant, flt.variant_ids, ["filter", "variantIds"], "variant")
        with_variant = StockDocumentLine.filter(account_id=actor.account_id, variant_id__in=ids).values(
            "document_id"
        )
        query = query.filter(id__in=Subquery(with_variant))
    return await paginate(query, order_by="posted_at", first=first, after=after)


def _grouped(ids: Sequence[uuid.UUID], rows: Iterable, key: str) -> dict[uuid.UUID, list]:
    """The rows under the id each names in its `key` field, every id present (empty when none)."""
    grouped: dict[uuid.UUID, list] = {i: [] for i in ids}
    for row in rows:
        grouped[getattr(row, key)].append(row)
    return grouped


async def lines_of_documents(account_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list]:
    rows = await StockDocumentLine.filter(account_id=account_id, document_id__in=list(ids)).order_by(
        "position"
    )
    return _grouped(ids, rows, "document_id")


async def movements_of_documents(account_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list]:
    rows = await StockMovement.filter(account_id=account_id, document_id__in=list(ids)).order_by(
        "position", "quantity_milli"
    )
    return _grouped(ids, rows, "document_id")


async def reversals_of_documents(account_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list]:
    rows = await StockDocument.filter(account_id=account_id, reverses_id__in=list(ids))
    return _grouped(ids, rows, "reverses_id")
