"""Stock: warehouses of three kinds, stock documents and their ledger, stock levels and totals.

Quantities are Decimal strings in the variant's unit (whole pieces, kilograms to 0.001);
`available = onHand − reserved + incoming`, `freeNow = onHand − reserved`.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from datetime import datetime
from decimal import Decimal

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from resolvers import inventory as r
from schema.accounts import UserType
from schema.catalog import VariantType
from schema.common import Connection, UserError, connection, payload
from schema.customers import SupplierType
from schema.errors import present_error
from services.broadcast import SubscriptionEnded


@strawberry.enum(
    description="OWN; DELIVERY_SERVICE: a fulfilment company holding our goods; SUPPLIER: a supplier's stock."
)
class WarehouseKind(enum.Enum):
    OWN = "OWN"
    DELIVERY_SERVICE = "DELIVERY_SERVICE"
    SUPPLIER = "SUPPLIER"


@strawberry.enum(description="What a stock document does to the stock.")
class StockDocumentKind(enum.Enum):
    RECEIPT = "RECEIPT"
    SHIPMENT = "SHIPMENT"
    TRANSFER = "TRANSFER"
    WRITE_OFF = "WRITE_OFF"
    COUNT = "COUNT"
    RETURN = "RETURN"


@strawberry.type(name="Warehouse")
class WarehouseType:
    id: strawberry.ID
    name: str
    kind: WarehouseKind
    archived: bool
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="The supplier a SUPPLIER warehouse belongs to.")
    async def supplier(self, info: Info) -> SupplierType | None:
        return await r.supplier_of(info, self.supplier_id)  # type: ignore[attr-defined]


@strawberry.type(name="StockLevel", description="What one warehouse holds of one variant.")
class StockLevelType:
    id: strawberry.ID
    updated_at: datetime

    @strawberry.field
    async def warehouse(self, info: Info) -> WarehouseType:
        return await r.warehouse_of(info, self.warehouse_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def variant(self, info: Info) -> VariantType:
        return await r.variant_of(info, self.variant_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def on_hand(self, info: Info) -> Decimal:
        return await r.quantity(info, self.variant_id, self.on_hand_milli)  # type: ignore[attr-defined]

    @strawberry.field(description="Held for open order lines.")
    async def reserved(self, info: Info) -> Decimal:
        return await r.quantity(info, self.variant_id, self.reserved_milli)  # type: ignore[attr-defined]

    @strawberry.field(description="On its way here (ordered from a supplier).")
    async def incoming(self, info: Info) -> Decimal:
        return await r.quantity(info, self.variant_id, self.incoming_milli)  # type: ignore[attr-defined]

    @strawberry.field(description="onHand − reserved + incoming.")
    async def available(self, info: Info) -> Decimal:
        return await r.quantity(info, self.variant_id, r.available_milli(self))  # type: ignore[attr-defined,arg-type]

    @strawberry.field(description="onHand − reserved: what can be promised today.")
    async def free_now(self, info: Info) -> Decimal:
        return await r.quantity(info, self.variant_id, r.free_now_milli(self))  # type: ignore[attr-defined,arg-type]


@strawberry.type(
    name="StockFigures",
    description="Totals over warehouses; each warehouse's freeNow and available count from 0 up.",
)
class StockFiguresType:
    @strawberry.field
    async def on_hand(self, info: Info) -> Decimal:
        return await r.quantity(info, self.variant_id, self.figures.on_hand_milli)  # type: ignore[attr-defined]

    @strawberry.field
    async def reserved(self, info: Info) -> Decimal:
        return await r.quantity(info, self.variant_id, self.figures.reserved_milli)  # type: ignore[attr-defined]

    @strawberry.field
    async def incoming(self, info: Info) -> Decimal:
        return await r.quantity(info, self.variant_id, self.figures.incoming_milli)  # type: ignore[attr-defined]

    @strawberry.field
    async def available(self, info: Info) -> Decimal:
        return await r.quantity(info, self.variant_id, self.figures.available_milli)  # type: ignore[attr-defined]

    @strawberry.field
    async def free_now(self, info: Info) -> Decimal:
        return await r.quantity(info, self.variant_id, self.figures.free_now_milli)  # type: ignore[attr-defined]


@strawberry.type(name="WarehouseKindStock")
class WarehouseKindStockType(StockFiguresType):
    kind: WarehouseKind


@strawberry.type(name="VariantStock", description="A variant's stock over all matching warehouses.")
class VariantStockType(StockFiguresType):
    @strawberry.field
    async def variant(self, info: Info) -> VariantType:
        return await r.variant_of(info, self.variant_id)  # type: ignore[attr-defined]

    @strawberry.field(description="Per warehouse kind.")
    def by_kind(self) -> list[WarehouseKindStockType]:
        return self.by_kind  # type: ignore[attr-defined,return-value]

    @strawberry.field(description="Moving weighted average unit cost, from receipts.")
    async def average_cost(self, info: Info) -> Decimal:
        return await r.money(info, self.average_cost_minor)  # type: ignore[attr-defined,return-value]


@strawberry.type(name="StockAsOf", description="On hand of a variant in one warehouse at a past moment.")
class StockAsOfType:
    @strawberry.field
    async def warehouse(self, info: Info) -> WarehouseType:
        return await r.warehouse_of(info, self.warehouse_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def variant(self, info: Info) -> VariantType:
        return await r.variant_of(info, self.variant_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def on_hand(self, info: Info) -> Decimal:
        return await r.quantity(info, self.variant_id, self.on_hand_milli)  # type: ignore[attr-defined]


@strawberry.type(name="StockDocumentLine", description="A line as entered; for a COUNT the counted figure.")
class StockDocumentLineType:
    position: int

    @strawberry.field
    async def variant(self, info: Info) -> VariantType:
        return await r.variant_of(info, self.variant_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def quantity(self, info: Info) -> Decimal:
        return await r.quantity(info, self.variant_id, self.quantity_milli)  # type: ignore[attr-defined]

    @strawberry.field
    async def unit_cost(self, info: Info) -> Decimal | None:
        return await r.money(info, self.unit_cost_minor)  # type: ignore[attr-defined]


@strawberry.type(
    name="StockMovement", description="A ledger entry: plus into the warehouse, minus out of it."
)
class StockMovementType:
    position: int
    posted_at: datetime

    @strawberry.field
    async def warehouse(self, info: Info) -> WarehouseType:
        return await r.warehouse_of(info, self.warehouse_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def variant(self, info: Info) -> VariantType:
        return await r.variant_of(info, self.variant_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def quantity(self, info: Info) -> Decimal:
        return await r.quantity(info, self.variant_id, self.quantity_milli)  # type: ignore[attr-defined]

    @strawberry.field(description="Receipt cost coming in; the average cost at the time going out.")
    async def unit_cost(self, info: Info) -> Decimal:
        return await r.money(info, self.unit_cost_minor)  # type: ignore[attr-defined,return-value]


@strawberry.type(name="StockDocument")
class StockDocumentType:
    id: strawberry.ID
    kind: StockDocumentKind
    comment: str
    reason: str
    reference: str
    posted_at: datetime

    @strawberry.field
    async def warehouse(self, info: Info) -> WarehouseType:
        return await r.warehouse_of(info, self.warehouse_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def to_warehouse(self, info: Info) -> WarehouseType | None:
        return await r.warehouse_of(info, self.to_warehouse_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def author(self, info: Info) -> UserType | None:
        return await r.author_of(info, self.author_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The document this one compensates.")
    async def reverses(self, info: Info) -> StockDocumentType | None:
        return await r.document_of(info, self.reverses_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The document that compensates this one.")
    async def reversed_by(self, info: Info) -> StockDocumentType | None:
        return await r.reversal_of(info, self.id)  # type: ignore[arg-type]

    @strawberry.field
    async def lines(self, info: Info) -> list[StockDocumentLineType]:
        return await r.lines_of(info, self.id)  # type: ignore[arg-type]

    @strawberry.field
    async def movements(self, info: Info) -> list[StockMovementType]:
        return await r.movements_of(info, self.id)  # type: ignore[arg-type]


@strawberry.input
class CreateWarehouseInput:
    name: str
    kind: WarehouseKind = WarehouseKind.OWN
    supplier_id: strawberry.ID | None = strawberry.field(default=None, description="Required for SUPPLIER.")


@strawberry.input(description="Fields left out stay as they are.")
class UpdateWarehouseInput:
    id: strawberry.ID
    name: str | None = None
    kind: WarehouseKind | None = None
    supplier_id: strawberry.ID | None = None


@strawberry.input
class ArchiveWarehouseInput:
    id: strawberry.ID
    archived: bool = strawberry.field(default=True, description="false brings it back.")


@strawberry.input
class WarehouseFilterInput:
    kinds: list[WarehouseKind] | None = None
    archived: bool | None = strawberry.field(default=False, description="null: both.")
    search: str | None = None


@strawberry.input
class StockDocumentLineInput:
    variant_id: strawberry.ID | None = strawberry.field(default=None, description="Either this or sku.")
    sku: str | None = None
    quantity: Decimal = strawberry.field(description="For a COUNT: the counted figure.")
    unit_cost: Decimal | None = strawberry.field(
        default=None, description="Required on a RECEIPT, only there."
    )


@strawberry.input
class PostStockDocumentInput:
    kind: StockDocumentKind
    warehouse_id: strawberry.ID
    lines: list[StockDocumentLineInput] = strawberry.field(description="At most 500.")
    to_warehouse_id: strawberry.ID | None = strawberry.field(default=None, description="For a TRANSFER.")
    comment: str | None = None
    reason: str | None = strawberry.field(default=None, description="Required for a WRITE_OFF.")


@strawberry.input
class ReverseStockDocumentInput:
    stock_document_id: strawberry.ID
    comment: str | None = None


@strawberry.input
class StockDocumentFilterInput:
    kinds: list[StockDocumentKind] | None = None
    warehouse_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Either side.")
    variant_ids: list[strawberry.ID] | None = None


@strawberry.input
class StockLevelFilterInput:
    variant_ids: list[strawberry.ID] | None = None
    skus: list[str] | None = None
    warehouse_ids: list[strawberry.ID] | None = None
    warehouse_kinds: list[WarehouseKind] | None = None
    group_id: strawberry.ID | None = strawberry.field(default=None, description="This group and those below.")


@strawberry.type
class CreateWarehousePayload:
    user_errors: list[UserError]
    warehouse: WarehouseType | None = None


@strawberry.type
class UpdateWarehousePayload:
    user_errors: list[UserError]
    warehouse: WarehouseType | None = None


@strawberry.type
class ArchiveWarehousePayload:
    user_errors: list[UserError]
    warehouse: WarehouseType | None = None


@strawberry.type
class PostStockDocumentPayload:
    user_errors: list[UserError]
    document: StockDocumentType | None = None


@strawberry.type
class ReverseStockDocumentPayload:
    user_errors: list[UserError]
    document: StockDocumentType | None = strawberry.field(
        default=None, description="The compensating document."
    )


@strawberry.type
class InventoryQuery:
    @strawberry.field
    async def warehouses(
        self,
        info: Info,
        filter: WarehouseFilterInput | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[WarehouseType]:
        return connection(await r.warehouses(info, filter, first, after))

    @strawberry.field
    async def warehouse(self, info: Info, id: strawberry.ID) -> WarehouseType:
        return await r.warehouse(info, id)

    @strawberry.field(description="Per warehouse and variant.")
    async def stock_levels(
        self,
        info: Info,
        filter: StockLevelFilterInput | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[StockLevelType]:
        return connection(await r.stock_levels(info, filter, first, after))

    @strawberry.field(description="Per variant, by sku: totals over the matching warehouses and per kind.")
    async def stock_totals(
        self,
        info: Info,
        filter: StockLevelFilterInput | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[VariantStockType]:
        return connection(await r.stock_totals(info, filter, first, after))

    @strawberry.field(description="On hand of a variant per warehouse at a past moment, from the ledger.")
    async def stock_as_of(
        self,
        info: Info,
        variant_id: strawberry.ID,
        at: datetime,
        warehouse_ids: list[strawberry.ID] | None = None,
    ) -> list[StockAsOfType]:
        return await r.stock_as_of(info, variant_id, at, warehouse_ids)  # type: ignore[return-value]

    @strawberry.field(description="Posted documents, oldest first.")
    async def stock_documents(
        self,
        info: Info,
        filter: StockDocumentFilterInput | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[StockDocumentType]:
        return connection(await r.stock_documents(info, filter, first, after))

    @strawberry.field
    async def stock_document(self, info: Info, id: strawberry.ID) -> StockDocumentType:
        return await r.stock_document(info, id)


@strawberry.type
class InventoryMutation:
    @strawberry.mutation
    async def create_warehouse(self, info: Info, input: CreateWarehouseInput) -> CreateWarehousePayload:
        async def action() -> dict:
            return {"warehouse": await r.create_warehouse(info, input)}

        return await payload(CreateWarehousePayload, action)

    @strawberry.mutation
    async def update_warehouse(self, info: Info, input: UpdateWarehouseInput) -> UpdateWarehousePayload:
        async def action() -> dict:
            return {"warehouse": await r.update_warehouse(info, input)}

        return await payload(UpdateWarehousePayload, action)

    @strawberry.mutation(description="Archives a warehouse that holds, owes and expects nothing.")
    async def archive_warehouse(self, info: Info, input: ArchiveWarehouseInput) -> ArchiveWarehousePayload:
        async def action() -> dict:
            return {"warehouse": await r.archive_warehouse(info, input)}

        return await payload(ArchiveWarehousePayload, action)

    @strawberry.mutation(description="Posts a document: ledger movements and stock levels change at once.")
    async def post_stock_document(
        self, info: Info, input: PostStockDocumentInput
    ) -> PostStockDocumentPayload:
        async def action() -> dict:
            return {"document": await r.post_stock_document(info, input)}

        return await payload(PostStockDocumentPayload, action)

    @strawberry.mutation(description="Posts the compensating document of a posted one.")
    async def reverse_stock_document(
        self, info: Info, input: ReverseStockDocumentInput
    ) -> ReverseStockDocumentPayload:
        async def action() -> dict:
            return {"document": await r.reverse_stock_document(info, input)}

        return await payload(ReverseStockDocumentPayload, action)


@strawberry.type
class InventorySubscription:
    @strawberry.subscription(
        description="Stock levels as they change, after each change commits (never for one that "
        "rolled back). Filters: variants, warehouses. Ends with an error whose extensions.code is "
        "SUBSCRIPTION_ENDED: subscribe again (and read stockLevels for what changed meanwhile)."
    )
    async def stock_changes(
        self,
        info: Info,
        variant_ids: list[strawberry.ID] | None = None,
        warehouse_ids: list[strawberry.ID] | None = None,
    ) -> AsyncGenerator[StockLevelType, None]:
        try:
            async for level in r.stock_changes(info, variant_ids, warehouse_ids):
                yield level  # type: ignore[misc]
        except Exception as exc:  # noqa: BLE001 - every error leaves as a coded GraphQL error
            # strawberry does not pass subscription errors through the ErrorPresenter.
            if isinstance(exc, SubscriptionEnded):
                raise GraphQLError(
                    str(exc), extensions={"code": "SUBSCRIPTION_ENDED", "reason": exc.reason}
                ) from None
            request_id = getattr(info.context, "request_id", "unknown")
            raise present_error(GraphQLError(str(exc), original_error=exc), request_id) from None
