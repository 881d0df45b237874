"""Reading stock: levels per warehouse and variant, totals per variant, on hand at a past moment."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Case, F, Q, Subquery, When
from tortoise.functions import Sum
from tortoise.queryset import QuerySet

from models.catalog import ProductGroup, Variant
from models.inventory import StockLevel, StockMovement, Warehouse
from services.access import Actor, Permission
from services.db import get_owned
from services.inventory.average_cost import average_costs
from services.inventory.ownership import MAX_FILTER_IDS, owned_ids
from services.inventory.specs import Pair, StockFilter
from services.inventory.warehouses import WAREHOUSE_KINDS
from services.pagination import Page, paginate

CATALOG_GROUP_SEPARATOR = " / "


@dataclass(frozen=True)
class StockFigures:
    """Totals over several warehouses. Each warehouse's free and available count from 0 up, so a
    warehouse that owes stock (backorders) never hides stock kept elsewhere."""

    on_hand_milli: int
    reserved_milli: int
    incoming_milli: int
    free_now_milli: int
    available_milli: int


@dataclass(frozen=True)
class KindStock:
    kind: str
    variant_id: uuid.UUID
    figures: StockFigures


@dataclass(frozen=True)
class VariantStock:
    variant_id: uuid.UUID
    figures: StockFigures
    by_kind: list[KindStock]
    average_cost_minor: int


@dataclass(frozen=True)
class StockAtMoment:
    warehouse_id: uuid.UUID
    variant_id: uuid.UUID
    on_hand_milli: int


def free_now_milli(level: StockLevel) -> int:
    return level.on_hand_milli - level.reserved_milli


def available_milli(level: StockLevel) -> int:
    return level.on_hand_milli - level.reserved_milli + level.incoming_milli


def stock_levels_of(account_id: uuid.UUID, pairs: Iterable[Pair]) -> QuerySet[StockLevel]:
    """The level rows of these pairs' warehouses × variants: a superset, callers keep their pairs."""
    pairs = list(pairs)
    return StockLevel.filter(
        account_id=account_id,
        warehouse_id__in=list({w for w, _ in pairs}),
        variant_id__in=list({v for _, v in pairs}),
    )


async def _level_query(actor: Actor, flt: StockFilter) -> QuerySet[StockLevel]:
    query = StockLevel.filter(account_id=actor.account_id)
    if flt.variant_ids is not None:
        ids = await owned_ids(actor, Variant, flt.variant_ids, ["filter", "variantIds"], "variant")
        query = query.filter(variant_id__in=ids)
    if flt.skus is not None:
        query = query.filter(variant__sku__in=[s.strip() for s in flt.skus][:MAX_FILTER_IDS])
    if flt.warehouse_ids is not None:
        ids = await owned_ids(actor, Warehouse, flt.warehouse_ids, ["filter", "warehouseIds"], "warehouse")
        query = query.filter(warehouse_id__in=ids)
    if flt.warehouse_kinds is not None:
        query = query.filter(warehouse__kind__in=[k.upper() for k in flt.warehouse_kinds])
    if flt.group_id is not None:
        group = await get_owned(
            ProductGroup, actor, flt.group_id, field=["filter", "groupId"], what="product group"
        )
        below = ProductGroup.filter(
            account_id=actor.account_id, path__startswith=group.path + CATALOG_GROUP_SEPARATOR
        ).values("id")
        query = query.filter(
            Q(variant__product__group_id=group.id) | Q(variant__product__group_id__in=Subquery(below))
        )
    return query


async def list_stock_levels(
    actor: Actor, flt: StockFilter, *, first: int | None, after: str | None
) -> Page[StockLevel]:
    """Levels per warehouse and variant, in the order they first appeared."""
    actor.require(Permission.STOCK_READ)
    query = await _level_query(actor, flt)
    return await paginate(query, order_by="created_at", first=first, after=after)


async def list_stock_totals(
    actor: Actor, flt: StockFilter, *, first: int | None, after: str | None
) -> Page[VariantStock]:
    """Per variant (by sku): totals over the matching warehouses and per warehouse kind."""
    actor.require(Permission.STOCK_READ)
    levels = await _level_query(actor, flt)
    variants = Variant.filter(account_id=actor.account_id, id__in=Subquery(levels.values("variant_id")))
    page = await paginate(variants, order_by="sku", first=first, after=after)
    ids = [v.id for v in page.items]
    free = Case(
        When(on_hand_milli__gt=F("reserved_milli"), then=F("on_hand_milli") - F("reserved_milli")), default=0
    )
    available = Case(
        When(
            on_hand_milli__gt=F("reserved_milli") - F("incoming_milli"),
            then=F("on_hand_milli") - F("reserved_milli") + F("incoming_milli"),
        ),
        default=0,
    )
    rows = (
        await levels.filter(variant_id__in=ids)
        .annotate(
            on_hand=Sum("on_hand_milli"),
            reserved=Sum("reserved_milli"),
            incoming=Sum("incoming_milli"),
            free=Sum(free),
            available=Sum(available),
        )
        .group_by("variant_id", "warehouse__kind")
        .values("variant_id", "warehouse__kind", "on_hand", "reserved", "incoming", "free", "available")
    )
    by_variant: dict[uuid.UUID, list[KindStock]] = defaultdict(list)
    for row in rows:
        figures = StockFigures(
            *(int(row[k] or 0) for k in ("on_hand", "reserved", "incoming", "free", "available"))
        )
        by_variant[row["variant_id"]].append(KindStock(row["warehouse__kind"], row["variant_id"], figures))
    costs = await average_costs(actor.account_id, ids)
    items = []
    for variant_id in ids:
        kinds = sorted(by_variant.get(variant_id, []), key=lambda k: WAREHOUSE_KINDS.index(k.kind))
        total = StockFigures(
            *(sum(getattr(k.figures, name) for k in kinds) for name in StockFigures.__dataclass_fields__)
        )
        items.append(VariantStock(variant_id, total, kinds, costs.get(variant_id, 0)))
    return Page(items, page.cursors, page.has_next_page, page.count_total)


async def stock_as_of(
    actor: Actor, variant_id: object, at: datetime, warehouse_ids: Sequence[object] | None = None
) -> list[StockAtMoment]:
    """On hand of a variant per warehouse at a past moment, summed from the ledger."""
    actor.require(Permission.STOCK_READ)
    variant = await get_owned(Variant, actor, variant_id, field=["variantId"], what="variant")
    query = StockMovement.filter(account_id=actor.account_id, variant_id=variant.id, posted_at__lte=at)
    if warehouse_ids is not None:
        ids = await owned_ids(actor, Warehouse, warehouse_ids, ["warehouseIds"], "warehouse")
        query = query.filter(warehouse_id__in=ids)
    rows = (
        await query.annotate(total=Sum("quantity_milli"))
        .group_by("warehouse_id")
        .values("warehouse_id", "total")
    )
    return sorted(
        (StockAtMoment(row["warehouse_id"], variant.id, int(row["total"] or 0)) for row in rows),
        key=lambda s: str(s.warehouse_id),
    )


async def units_of_variants(account_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The unit each variant is counted in, for showing its quantities."""
    rows = await Variant.filter(account_id=account_id, id__in=list(set(ids))).values_list(
        "id", "product__unit"
    )
    return dict(rows)


async def levels_of_pairs(account_id: uuid.UUID, pairs: Iterable[Pair]) -> list[StockLevel]:
    """The current levels of these (warehouse, variant) pairs, in pair order."""
    wanted = set(pairs)
    if not wanted:
        return []
    rows = await stock_levels_of(account_id, wanted)
    return sorted(
        (r for r in rows if (r.warehouse_id, r.variant_id) in wanted),
        key=lambda r: (str(r.warehouse_id), str(r.variant_id)),
    )
