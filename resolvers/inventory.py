"""Stock: thin calls into services.inventory; relations and units through the loaders."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from datetime import datetime
from decimal import Decimal
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from models.accounts import User
from models.catalog import Variant
from models.inventory import StockDocument, StockLevel, Warehouse
from resolvers.common import actor, context, plain
from resolvers.live import live_context
from resolvers.loaders import Loaders
from services import inventory
from services.amounts import milli_to_quantity, minor_to_money
from services.db import rows_by_ids
from services.inventory import (
    DocumentFilter,
    DocumentLineSpec,
    DocumentSpec,
    StockAtMoment,
    StockFilter,
    VariantStock,
    WarehouseFilter,
    WarehouseInput,
)
from services.pagination import Page


def _plain_list(values: Any) -> list | None:
    return None if values is None else [plain(v) for v in values]


def _stock_filter(flt: Any) -> StockFilter:
    if flt is None:
        return StockFilter()
    return StockFilter(
        variant_ids=_plain_list(flt.variant_ids),
        skus=_plain_list(flt.skus),
        warehouse_ids=_plain_list(flt.warehouse_ids),
        warehouse_kinds=_plain_list(flt.warehouse_kinds),
        group_id=flt.group_id,
    )


# --- warehouses --------------------------------------------------------------------------------


async def create_warehouse(info: Info, data: Any) -> Warehouse:
    return await inventory.create_warehouse(
        await actor(info), WarehouseInput(name=data.name, kind=plain(data.kind), supplier_id=data.supplier_id)
    )


async def update_warehouse(info: Info, data: Any) -> Warehouse:
    return await inventory.update_warehouse(
        await actor(info),
        data.id,
        WarehouseInput(name=data.name, kind=plain(data.kind), supplier_id=data.supplier_id),
    )


async def archive_warehouse(info: Info, data: Any) -> Warehouse:
    return await inventory.set_warehouse_archived(await actor(info), data.id, bool(data.archived))


async def warehouse(info: Info, warehouse_id: Any) -> Warehouse:
    return await inventory.get_warehouse(await actor(info), warehouse_id)


async def warehouses(info: Info, flt: Any, first: int | None, after: str | None) -> Page[Warehouse]:
    spec = WarehouseFilter()
    if flt is not None:
        spec = WarehouseFilter(kinds=_plain_list(flt.kinds), archived=flt.archived, search=flt.search)
    return await inventory.list_warehouses(await actor(info), spec, first=first, after=after)


# --- documents ---------------------------------------------------------------------------------


async def post_stock_document(info: Info, data: Any) -> StockDocument:
    lines = [
        DocumentLineSpec(
            variant_id=line.variant_id, sku=line.sku, quantity=line.quantity, unit_cost=line.unit_cost
        )
        for line in data.lines
    ]
    spec = DocumentSpec(
        kind=plain(data.kind),
        warehouse_id=data.warehouse_id,
        to_warehouse_id=data.to_warehouse_id,
        comment=data.comment,
        reason=data.reason,
        lines=lines,
    )
    return await inventory.post_document(await actor(info), spec)


async def reverse_stock_document(info: Info, data: Any) -> StockDocument:
    return await inventory.reverse_document(await actor(info), data.stock_document_id, data.comment)


async def stock_document(info: Info, document_id: Any) -> StockDocument:
    return await inventory.get_document(await actor(info), document_id)


async def stock_documents(info: Info, flt: Any, first: int | None, after: str | None) -> Page[StockDocument]:
    spec = DocumentFilter()
    if flt is not None:
        spec = DocumentFilter(
            kinds=_plain_list(flt.kinds),
            warehouse_ids=_plain_list(flt.warehouse_ids),
            variant_ids=_plain_list(flt.variant_ids),
        )
    return await inventory.list_documents(await actor(info), spec, first=first, after=after)


# --- levels ------------------------------------------------------------------------------------


async def stock_levels(info: Info, flt: Any, first: int | None, after: str | None) -> Page[StockLevel]:
    return await inventory.list_stock_levels(await actor(info), _stock_filter(flt), first=first, after=after)


async def stock_totals(info: Info, flt: Any, first: int | None, after: str | None) -> Page[VariantStock]:
    return await inventory.list_stock_totals(await actor(info), _stock_filter(flt), first=first, after=after)


async def stock_as_of(
    info: Info, variant_id: Any, at: datetime, warehouse_ids: Sequence[Any] | None
) -> list[StockAtMoment]:
    ids = None if warehouse_ids is None else list(warehouse_ids)
    return await inventory.stock_as_of(await actor(info), variant_id, at, ids)


def free_now_milli(level: StockLevel) -> int:
    return inventory.free_now_milli(level)


def available_milli(level: StockLevel) -> int:
    return inventory.available_milli(level)


async def stock_changes(
    info: Info, variant_ids: Sequence[Any] | None, warehouse_ids: Sequence[Any] | None
) -> AsyncIterator[StockLevel]:
    """Levels as they change; each gets fresh loaders, so its fields never show an earlier read."""
    live = live_context(info)
    acting = await live.actor()
    feed = inventory.stock_feed(
        acting,
        variant_ids=None if variant_ids is None else list(variant_ids),
        warehouse_ids=None if warehouse_ids is None else list(warehouse_ids),
    )
    async with aclosing(feed):
        async for level in feed:
            live.use_loaders(Loaders(acting.account_id))
            yield level


# --- relations, through the loaders ------------------------------------------------------------


def _loader(fetch: Any, account_id: uuid.UUID, grouped: bool) -> DataLoader:
    async def load(ids: Sequence[uuid.UUID]) -> list[Any]:
        found = await fetch(account_id, ids)
        return [found.get(i, [] if grouped else None) for i in ids]

    return DataLoader(load_fn=load)


async def _load(info: Info, name: str, fetch: Any, key: uuid.UUID, grouped: bool = False) -> Any:
    loaders = await context(info).loaders()
    loader = loaders.custom(name, lambda: _loader(fetch, loaders.account_id, grouped))
    return await loader.load(key)


async def _warehouses(account_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> dict:
    return await inventory.warehouses_by_ids(account_id, ids)


async def _users(account_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> dict:
    return await rows_by_ids(User, account_id, ids)


async def _documents(account_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> dict:
    return await rows_by_ids(StockDocument, account_id, ids)


async def warehouse_of(info: Info, warehouse_id: uuid.UUID | None) -> Warehouse | None:
    if warehouse_id is None:
        return None
    return await _load(info, "inventory_warehouse", _warehouses, warehouse_id)


async def variant_of(info: Info, variant_id: uuid.UUID) -> Variant:
    return await (await context(info).loaders()).variant.load(variant_id)


async def supplier_of(info: Info, supplier_id: uuid.UUID | None) -> Any:
    if supplier_id is None:
        return None
    return await (await context(info).loaders()).supplier.load(supplier_id)


async def author_of(info: Info, user_id: uuid.UUID | None) -> User | None:
    if user_id is None:
        return None
    return await _load(info, "inventory_user", _users, user_id)


async def document_of(info: Info, document_id: uuid.UUID | None) -> StockDocument | None:
    if document_id is None:
        return None
    return await _load(info, "inventory_document", _documents, document_id)


async def reversal_of(info: Info, document_id: uuid.UUID) -> StockDocument | None:
    found = await _load(
        info, "inventory_reversals", inventory.reversals_of_documents, document_id, grouped=True
    )
    return found[0] if found else None


async def lines_of(info: Info, document_id: uuid.UUID) -> list:
    return await _load(info, "inventory_lines", inventory.lines_of_documents, document_id, grouped=True)


async def movements_of(info: Info, document_id: uuid.UUID) -> list:
    return await _load(
        info, "inventory_movements", inventory.movements_of_documents, document_id, grouped=True
    )


async def quantity(info: Info, variant_id: uuid.UUID, milli: int) -> Decimal:
    """Thousandths shown in the variant's unit: whole pieces, kilograms to 0.001."""
    unit = await _load(info, "inventory_unit", inventory.units_of_variants, variant_id)
    return milli_to_quantity(milli, unit or "KG")


async def money(info: Info, minor: int | None) -> Decimal | None:
    if minor is None:
        return None
    return minor_to_money(minor, await context(info).currency())
