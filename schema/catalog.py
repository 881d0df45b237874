"""Catalog: product groups, products with variants (size × colour), price types and prices.

The types below resolve their fields from the ORM rows the resolvers return; relations go
through the request's loaders, so a page of products costs the same few queries at any size.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from resolvers import catalog as r
from schema.common import Connection, UserError, connection, payload


@strawberry.enum(
    description="The unit a product is counted in. Pieces are whole; weight and length to 0.001."
)
class Unit(enum.Enum):
    PCS = "PCS"
    SET = "SET"
    PACK = "PACK"
    PAIR = "PAIR"
    KG = "KG"
    G = "G"
    L = "L"
    ML = "ML"
    M = "M"
    M2 = "M2"


@strawberry.enum(description="VAT rate of a product, as fiscal receipts need it.")
class VatRate(enum.Enum):
    NONE = "NONE"
    VAT0 = "VAT0"
    VAT5 = "VAT5"
    VAT7 = "VAT7"
    VAT10 = "VAT10"
    VAT18 = "VAT18"
    VAT20 = "VAT20"
    VAT22 = "VAT22"


@strawberry.type
class Characteristic:
    name: str
    value: str


@strawberry.type(name="PriceType")
class PriceTypeType:
    id: strawberry.ID
    code: str
    name: str


@strawberry.type(name="Price")
class PriceNode:
    @strawberry.field
    def price_type(self) -> PriceTypeType:
        return self.price_type  # type: ignore[attr-defined]

    @strawberry.field
    async def amount(self, info: Info) -> Decimal:
        return await r.money(info, self.amount_minor)  # type: ignore[attr-defined]


@strawberry.type(name="ProductGroup")
class ProductGroupType:
    id: strawberry.ID
    name: str

    @strawberry.field(description="Names from the root down to this group.")
    def path(self) -> list[str]:
        return self.path.split(" / ")  # type: ignore[attr-defined]

    @strawberry.field
    async def parent(self, info: Info) -> ProductGroupType | None:
        return await r.group_of(info, self.parent_id)  # type: ignore[attr-defined]


@strawberry.type(name="Variant")
class VariantType:
    id: strawberry.ID
    sku: str
    barcodes: list[str]
    archived: bool

    @strawberry.field
    def characteristics(self) -> list[Characteristic]:
        return [Characteristic(name=c["name"], value=c["value"]) for c in self.characteristics]  # type: ignore

    @strawberry.field
    async def product(self, info: Info) -> ProductType:
        return await r.product_of(info, self)  # type: ignore[arg-type]

    @strawberry.field
    async def prices(self, info: Info) -> list[PriceNode]:
        return await r.prices_of(info, self)  # type: ignore[arg-type]


@strawberry.type(name="Product")
class ProductType:
    id: strawberry.ID
    article: str
    name: str
    unit: Unit
    vat_rate: VatRate
    barcodes: list[str]
    description: str
    archived: bool
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    async def group(self, info: Info) -> ProductGroupType | None:
        return await r.group_of(info, self.group_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def variants(self, info: Info) -> list[VariantType]:
        return await r.variants_of(info, self)  # type: ignore[arg-type]


@strawberry.input
class PriceInput:
    price_type: str = strawberry.field(
        description="A price type code: RETAIL, WHOLESALE, PURCHASE or your own."
    )
    amount: Decimal


@strawberry.input
class CharacteristicInput:
    name: str
    value: str


@strawberry.input
class VariantInput:
    sku: str
    characteristics: list[CharacteristicInput] = strawberry.field(default_factory=list)
    barcodes: list[str] = strawberry.field(default_factory=list)
    prices: list[PriceInput] = strawberry.field(default_factory=list)


@strawberry.input
class ProductInput:
    article: str
    name: str
    group_path: list[str] | None = None
    unit: Unit = Unit.PCS
    vat_rate: VatRate = VatRate.NONE
    barcodes: list[str] = strawberry.field(default_factory=list)
    description: str = ""
    archived: bool = False
    prices: list[PriceInput] = strawberry.field(
        default_factory=list, description="Prices for every variant that does not set its own."
    )
    variants: list[VariantInput] | None = strawberry.field(
        default=None, description="Left out: one variant whose sku is the article."
    )


@strawberry.input
class UpsertProductsInput:
    products: list[ProductInput] = strawberry.field(description="At most 250.")


@strawberry.input
class CreatePriceTypeInput:
    code: str
    name: str


@strawberry.type
class UpsertProductsPayload:
    user_errors: list[UserError]
    products: list[ProductType] | None = None


@strawberry.type
class CreatePriceTypePayload:
    user_errors: list[UserError]
    price_type: PriceTypeType | None = None


@strawberry.type
class CatalogQuery:
    @strawberry.field
    async def products(
        self,
        info: Info,
        first: int | None = 50,
        after: str | None = None,
        search: str | None = None,
        group_id: strawberry.ID | None = None,
        archived: bool | None = False,
    ) -> Connection[ProductType]:
        return connection(await r.products(info, first, after, search, group_id, archived))

    @strawberry.field
    async def product(self, info: Info, id: strawberry.ID) -> ProductType:
        return await r.product(info, id)

    @strawberry.field
    async def variant(self, info: Info, id: strawberry.ID) -> VariantType:
        return await r.variant(info, id)

    @strawberry.field
    async def variant_by_sku(self, info: Info, sku: str) -> VariantType:
        return await r.variant_by_sku(info, sku)

    @strawberry.field
    async def product_group(self, info: Info, id: strawberry.ID) -> ProductGroupType:
        return await r.product_group(info, id)

    @strawberry.field
    async def product_groups(self, info: Info) -> list[ProductGroupType]:
        return await r.product_groups(info)

    @strawberry.field
    async def price_types(self, info: Info) -> list[PriceTypeType]:
        return await r.price_types(info)


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(description="Creates or updates up to 250 products by article, variants by sku.")
    async def upsert_products(self, info: Info, input: UpsertProductsInput) -> UpsertProductsPayload:
        async def action() -> dict:
            return {"products": await r.upsert_products(info, input)}

        return await payload(UpsertProductsPayload, action)

    @strawberry.mutation
    async def create_price_type(self, info: Info, input: CreatePriceTypeInput) -> CreatePriceTypePayload:
        async def action() -> dict:
            return {"price_type": await r.create_price_type(info, input)}

        return await payload(CreatePriceTypePayload, action)
