"""Dropshipping: supplier endpoints, dropship orders, and the supplier's answer."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from resolvers import dropship as r
from schema.common import Connection, UserError, connection, payload
from schema.customers import SupplierType
from services.dropship import DropshipStatus as ServiceDropshipStatus
from services.dropship import EndpointKind

SupplierEndpointKind = strawberry.enum(EndpointKind, name="SupplierEndpointKind")
DropshipStatus = strawberry.enum(
    ServiceDropshipStatus,
    name="DropshipStatus",
    description="PENDING (to send), SENT, ACCEPTED, REJECTED, SHIPPED, FAILED (could not be sent).",
)


@strawberry.enum(description="What a supplier answers.")
class DropshipAnswer(enum.Enum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    SHIPPED = "SHIPPED"


@strawberry.type(name="SupplierEndpoint")
class SupplierEndpointType:
    id: strawberry.ID
    supplier_id: strawberry.ID
    kind: SupplierEndpointKind
    url: str
    email: str
    secret: str = strawberry.field(description="Signs our orders and the supplier's callbacks (HMAC-SHA256).")

    @strawberry.field(description="Where the supplier posts its answers, relative to this server.")
    def callback_path(self) -> str:
        return f"/dropship/callback/{self.id}"


@strawberry.type(name="DropshipLine")
class DropshipLineType:
    sku: str
    name: str
    quantity: Decimal
    unit: str


@strawberry.type(name="DropshipOrder")
class DropshipOrderType:
    id: strawberry.ID
    order_id: strawberry.ID
    status: DropshipStatus
    customer_name: str
    customer_email: str
    customer_phone: str
    delivery_method: str
    delivery_address: str
    send_attempts: int
    sent_at: datetime | None
    answered_at: datetime | None
    supplier_reference: str
    tracking_number: str
    rejection_reason: str
    error: str = strawberry.field(description="Why it could not be sent, if it could not.")
    created_at: datetime

    @strawberry.field
    def lines(self) -> list[DropshipLineType]:
        return [
            DropshipLineType(
                sku=x["sku"], name=x["name"], quantity=Decimal(x["quantity_milli"]) / 1000, unit=x["unit"]
            )
            for x in self.lines  # type: ignore[attr-defined]
        ]

    @strawberry.field
    async def supplier(self, info: Info) -> SupplierType | None:
        return await r.supplier_of(info, self.supplier_id)  # type: ignore[attr-defined]


@strawberry.input
class SetSupplierEndpointInput:
    supplier_id: strawberry.ID
    kind: SupplierEndpointKind
    url: str | None = None
    email: str | None = None
    secret: str | None = strawberry.field(default=None, description="Left out: a new one is made.")


@strawberry.input(description="The supplier's answer, when it came by phone or email.")
class AnswerDropshipOrderInput:
    dropship_order_id: strawberry.ID
    status: DropshipAnswer
    tracking_number: str | None = None
    reason: str | None = None
    reference: str | None = None


@strawberry.type
class SetSupplierEndpointPayload:
    user_errors: list[UserError]
    supplier_endpoint: SupplierEndpointType | None = None


@strawberry.type
class AnswerDropshipOrderPayload:
    user_errors: list[UserError]
    dropship_order: DropshipOrderType | None = None


@strawberry.type
class DropshipQuery:
    @strawberry.field
    async def dropship_orders(
        self,
        info: Info,
        order_id: strawberry.ID | None = None,
        status: DropshipStatus | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[DropshipOrderType]:
        return connection(await r.list_dropship_orders(info, order_id, status, first, after))

    @strawberry.field
    async def dropship_order(self, info: Info, id: strawberry.ID) -> DropshipOrderType:
        return await r.dropship_order(info, id)  # type: ignore[return-value]


@strawberry.type
class DropshipMutation:
    @strawberry.mutation
    async def set_supplier_endpoint(
        self, info: Info, input: SetSupplierEndpointInput
    ) -> SetSupplierEndpointPayload:
        async def action() -> dict:
            return {"supplier_endpoint": await r.set_supplier_endpoint(info, input)}

        return await payload(SetSupplierEndpointPayload, action)

    @strawberry.mutation
    async def answer_dropship_order(
        self, info: Info, input: AnswerDropshipOrderInput
    ) -> AnswerDropshipOrderPayload:
        async def action() -> dict:
            return {"dropship_order": await r.answer_dropship_order(info, input)}

        return await payload(AnswerDropshipOrderPayload, action)
