"""Catalog: thin calls into services.catalog; relations through the loaders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from strawberry.types import Info

from models.catalog import Price, PriceType, Product, ProductGroup, Variant
from resolvers.common import actor, context, plain
from services import catalog
from services.amounts import minor_to_money
from services.catalog import PriceSpec, ProductSpec, VariantSpec
from services.pagination import Page


def _prices(items: Any) -> list[PriceSpec]:
    return [PriceSpec(price_type=p.price_type, amount=p.amount) for p in items or []]


def _product_spec(item: Any) -> ProductSpec:
    variants = None
    if item.variants:
        variants = [
            VariantSpec(
                sku=v.sku,
                characteristics=[(c.name, c.value) for c in v.characteristics or []],
                barcodes=list(v.barcodes or []),
                prices=_prices(v.prices),
            )
            for v in item.variants
        ]
    return ProductSpec(
        article=item.article,
        name=item.name,
        group_path=list(item.group_path) if item.group_path is not None else None,
        unit=plain(item.unit),
        vat_rate=plain(item.vat_rate),
        barcodes=list(item.barcodes or []),
        description=item.description or "",
        archived=bool(item.archived),
        prices=_prices(item.prices),
        variants=variants,
    )


async def upsert_products(info: Info, data: Any) -> list[Product]:
    return await catalog.upsert_products(await actor(info), [_product_spec(p) for p in data.products])


async def products(
    info: Info, first: int | None, after: str | None, search: str | None, group_id: Any, archived: bool | None
) -> Page[Product]:
    return await catalog.list_products(
        await actor(info), first=first, after=after, search=search, group_id=group_id, archived=archived
    )


async def product(info: Info, product_id: Any) -> Product:
    return await catalog.get_product(await actor(info), product_id)


async def variant(info: Info, variant_id: Any) -> Variant:
    return await catalog.get_variant(await actor(info), variant_id)


async def variant_by_sku(info: Info, sku: str) -> Variant:
    return await catalog.get_variant_by_sku(await actor(info), sku)


async def product_group(info: Info, group_id: Any) -> ProductGroup:
    return await catalog.get_group(await actor(info), group_id)


async def product_groups(info: Info) -> list[ProductGroup]:
    return await catalog.list_groups(await actor(info))


async def price_types(info: Info) -> list[PriceType]:
    return await catalog.list_price_types(await actor(info))


async def create_price_type(info: Info, data: Any) -> PriceType:
    return await catalog.create_price_type(await actor(info), code=data.code, name=data.name)


# --- relations, through the loaders ---------------------------------------------------------


async def variants_of(info: Info, product_row: Product) -> list[Variant]:
    return await (await context(info).loaders()).variants_of_product.load(product_row.id)


async def product_of(info: Info, variant_row: Variant) -> Product:
    return await (await context(info).loaders()).product.load(variant_row.product_id)


async def group_of(info: Info, group_id: Any) -> ProductGroup | None:
    if group_id is None:
        return None
    return await (await context(info).loaders()).group.load(group_id)


async def prices_of(info: Info, variant_row: Variant) -> list[Price]:
    return await (await context(info).loaders()).prices_of_variant.load(variant_row.id)


async def money(info: Info, minor: int) -> Decimal:
    return minor_to_money(minor, await context(info).currency())
