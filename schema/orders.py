"""Orders: sales channels, placing orders, the workflow, managers, the confirmation deadline, payments.

The types resolve their fields from the ORM rows the resolvers return; relations go through
the request's loaders, so a page of orders costs the same few queries at any size.
`OrderType` is what other domains (the live feed) show an order as.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import orders as r
from schema.accounts import UserType
from schema.catalog import PriceTypeType, VariantType
from schema.common import Connection, UserError, connection, payload
from schema.customers import CustomerType
from services.order_assignment import AssignmentStrategy as ServiceAssignmentStrategy
from services.order_timeline import OrderEventType as ServiceOrderEventType
from services.order_timeline import OrderStatus as ServiceOrderStatus
from services.orders import ChannelKind
from services.payments import PaymentMethod as ServicePaymentMethod
from services.payments import PaymentStatus as ServicePaymentStatus

SalesChannelKind = strawberry.enum(
    ChannelKind, name="SalesChannelKind", description="Where orders come from."
)
OrderStatus = strawberry.enum(
    ServiceOrderStatus,
    name="OrderStatus",
    description="NEW → CONFIRMED → PACKED → SHIPPED → DELIVERED → COMPLETED; CANCELLED before SHIPPED, "
    "RETURNED after.",
)
PaymentStatus = strawberry.enum(ServicePaymentStatus, name="PaymentStatus")
PaymentMethod = strawberry.enum(ServicePaymentMethod, name="PaymentMethod")
OrderEventType = strawberry.enum(
    ServiceOrderEventType, name="OrderEventType", description="What happened to an order."
)
AssignmentStrategy = strawberry.enum(
    ServiceAssignmentStrategy,
    name="AssignmentStrategy",
    description="How new orders find a manager among those on shift.",
)


@strawberry.type(name="SalesChannel")
class SalesChannelType:
    id: strawberry.ID
    name: str
    kind: SalesChannelKind
    created_at: datetime

    @strawberry.field(description="The warehouse the channel's orders reserve and ship from.")
    def warehouse_id(self) -> strawberry.ID:
        return strawberry.ID(str(self.warehouse_id))  # type: ignore[attr-defined]

    @strawberry.field(description="Prices lines that an order gives no price for.")
    async def price_type(self, info: Info) -> PriceTypeType:
        return await r.price_type_of(info, self)  # type: ignore[arg-type]


@strawberry.type(name="OrderLine")
class OrderLineType:
    id: strawberry.ID
    position: int

    @strawberry.field
    async def variant(self, info: Info) -> VariantType:
        return await r.variant_of(info, self)  # type: ignore[arg-type]

    @strawberry.field
    def quantity(self) -> Decimal:
        return r.quantity(self)  # type: ignore[arg-type]

    @strawberry.field
    async def price(self, info: Info) -> Decimal:
        return await r.money(info, self.price_minor)  # type: ignore[attr-defined]

    @strawberry.field
    async def total(self, info: Info) -> Decimal:
        return await r.money(info, self.total_minor)  # type: ignore[attr-defined]


@strawberry.type(name="OrderTimelineEvent", description="One entry of an order's timeline.")
class OrderTimelineEventType:
    """Resolves from the order's entries in the account's event log (models.events.Event)."""

    id: strawberry.ID
    at: datetime

    @strawberry.field
    def type(self) -> OrderEventType:  # type: ignore[valid-type]
        return OrderEventType(self.type)  # type: ignore[attr-defined]

    @strawberry.field(description="STATUS_CHANGED: the status before.")
    def from_status(self) -> OrderStatus | None:
        return self.payload.get("from_status")  # type: ignore[attr-defined]

    @strawberry.field(description="STATUS_CHANGED: the status after.")
    def to_status(self) -> OrderStatus | None:
        return self.payload.get("to_status")  # type: ignore[attr-defined]

    @strawberry.field
    def comment(self) -> str:
        return self.payload.get("comment") or ""  # type: ignore[attr-defined]

    @strawberry.field(description="Who did it; empty when the back office itself did (a missed deadline).")
    async def actor(self, info: Info) -> UserType | None:
        return await r.user(info, self.actor_user_id)  # type: ignore[attr-defined]

    @strawberry.field(description="ASSIGNED: the manager the order went to.")
    async def manager(self, info: Info) -> UserType | None:
        if self.type != "ASSIGNED":  # type: ignore[attr-defined]
            return None
        return await r.user(info, r.uuid_or_none(self.payload.get("manager_id")))  # type: ignore[attr-defined]

    @strawberry.field(description="PAID and REFUNDED: how much.")
    async def amount(self, info: Info) -> Decimal | None:
        amount = self.payload.get("amount_minor")  # type: ignore[attr-defined]
        return None if amount is None else await r.money(info, amount)


@strawberry.type(name="Payment", description="Money received for an order (PAYMENT) or given back (REFUND).")
class PaymentType:
    id: strawberry.ID
    kind: str
    method: PaymentMethod
    created_at: datetime

    @strawberry.field
    async def amount(self, info: Info) -> Decimal:
        return await r.money(info, self.amount_minor)  # type: ignore[attr-defined]

    @strawberry.field(description="PAYMENT: how much of it has been refunded.")
    async def refunded(self, info: Info) -> Decimal:
        return await r.money(info, self.refunded_minor)  # type: ignore[attr-defined]

    @strawberry.field(description="REFUND: the payment it gives back.")
    async def refund_of(self, info: Info) -> PaymentType | None:
        return await r.payment(info, self.refund_of_id)  # type: ignore[attr-defined]


@strawberry.type
class Delivery:
    method: str
    address: str


@strawberry.type(name="Order")
class OrderType:
    id: strawberry.ID
    number: int
    external_id: str | None
    status: OrderStatus
    payment_status: PaymentStatus
    comment: str
    confirm_deadline: datetime
    confirmed_at: datetime | None
    deadline_missed_at: datetime | None = strawberry.field(
        description="When the deadline watcher found it still unconfirmed; set once."
    )
    shipped_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="Still NEW after its confirmation deadline.")
    def overdue(self) -> bool:
        return r.is_overdue(self)  # type: ignore[arg-type]

    @strawberry.field
    def delivery(self) -> Delivery:
        return Delivery(method=self.delivery_method, address=self.delivery_address)  # type: ignore

    @strawberry.field
    async def channel(self, info: Info) -> SalesChannelType:
        return await r.channel_of(info, self)  # type: ignore[arg-type]

    @strawberry.field
    async def customer(self, info: Info) -> CustomerType:
        return await r.customer_of(info, self)  # type: ignore[arg-type]

    @strawberry.field
    async def manager(self, info: Info) -> UserType | None:
        return await r.user(info, self.manager_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def lines(self, info: Info) -> list[OrderLineType]:
        return await r.lines_of(info, self)  # type: ignore[arg-type]

    @strawberry.field(description="The timeline: status changes, assignments, payments, comments.")
    async def events(self, info: Info) -> list[OrderTimelineEventType]:
        return await r.events_of(info, self)  # type: ignore[arg-type]

    @strawberry.field
    async def payments(self, info: Info) -> list[PaymentType]:
        return await r.payments_of(info, self)  # type: ignore[arg-type]

    @strawberry.field
    async def total(self, info: Info) -> Decimal:
        return await r.money(info, self.total_minor)  # type: ignore[attr-defined]

    @strawberry.field(description="Paid, less refunds.")
    async def paid(self, info: Info) -> Decimal:
        return await r.money(info, self.paid_minor - self.refunded_minor)  # type: ignore[attr-defined]

    @strawberry.field
    async def refunded(self, info: Info) -> Decimal:
        return await r.money(info, self.refunded_minor)  # type: ignore[attr-defined]

    @strawberry.field(description="Still to pay.")
    async def due(self, info: Info) -> Decimal:
        return await r.money(info, self.total_minor - self.paid_minor + self.refunded_minor)  # type: ignore


@strawberry.type(description="A customer's figures from their orders and payments.")
class CustomerMetrics:
    last_sale_at: datetime | None
    order_count: int = strawberry.field(description="Orders not cancelled or returned.")

    @strawberry.field
    async def total_sales(self, info: Info) -> Decimal:
        return await r.money(info, self.total_sales_minor)  # type: ignore[attr-defined]

    @strawberry.field
    async def average_order(self, info: Info) -> Decimal:
        return await r.money(info, self.average_order_minor)  # type: ignore[attr-defined]

    @strawberry.field(
        description="Payments less refunds, less the goods shipped: below zero, the customer owes."
    )
    async def balance(self, info: Info) -> Decimal:
        return await r.money(info, self.balance_minor)  # type: ignore[attr-defined]


@strawberry.type
class OrderSettings:
    confirmation_minutes: int
    assignment_strategy: AssignmentStrategy


@strawberry.type(description="How fast orders were confirmed, for one manager or for everyone.")
class ConfirmationFigures:
    due: int = strawberry.field(
        description="Orders that had to be confirmed by now: confirmed or past deadline."
    )
    confirmed: int
    within_deadline: int
    within_deadline_share: float | None
    median_seconds: float | None
    p90_seconds: float | None

    @strawberry.field(description="Empty in the overall figures.")
    async def manager(self, info: Info) -> UserType | None:
        return await r.user(info, self.manager_id)  # type: ignore[attr-defined]


@strawberry.type
class ConfirmationStats:
    overall: ConfirmationFigures
    by_manager: list[ConfirmationFigures]


# --- inputs ------------------------------------------------------------------------------------


@strawberry.input
class CreateSalesChannelInput:
    name: str
    kind: SalesChannelKind
    warehouse_id: strawberry.ID
    price_type: str = strawberry.field(default="RETAIL", description="A price type code.")


@strawberry.input(description="An existing customer by id, or contact details to find (or create) one by.")
class OrderCustomerInput:
    id: strawberry.ID | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None


@strawberry.input(
    description="A variant by id or by sku; without a price, the channel's price type prices it."
)
class OrderLineInput:
    quantity: Decimal
    variant_id: strawberry.ID | None = None
    sku: str | None = None
    price: Decimal | None = None


@strawberry.input
class DeliveryInput:
    method: str | None = None
    address: str | None = None


@strawberry.input
class PlaceOrderInput:
    channel_id: strawberry.ID
    lines: list[OrderLineInput] = strawberry.field(description="At most 500.")
    external_id: str | None = strawberry.field(
        default=None, description="The channel's own order id: placing it again returns the same order."
    )
    customer: OrderCustomerInput | None = None
    delivery: DeliveryInput | None = None
    comment: str | None = None


@strawberry.input
class SetOrderStatusInput:
    order_id: strawberry.ID
    status: OrderStatus
    comment: str | None = None


@strawberry.input
class AssignOrderInput:
    order_id: strawberry.ID
    manager_id: strawberry.ID


@strawberry.input
class AddOrderCommentInput:
    order_id: strawberry.ID
    text: str


@strawberry.input
class SetManagerShiftInput:
    on_shift: bool
    user_id: strawberry.ID | None = strawberry.field(default=None, description="Left out: yourself.")


@strawberry.input(description="Fields left out stay as they are.")
class UpdateOrderSettingsInput:
    confirmation_minutes: int | None = None
    assignment_strategy: AssignmentStrategy | None = None


@strawberry.input
class RegisterPaymentInput:
    order_id: strawberry.ID
    amount: Decimal
    method: PaymentMethod
    currency: str | None = strawberry.field(default=None, description="If given, the account's currency.")


@strawberry.input
class RefundPaymentInput:
    payment_id: strawberry.ID
    amount: Decimal


@strawberry.input
class OrderFilterInput:
    statuses: list[OrderStatus] | None = None
    channel_ids: list[strawberry.ID] | None = None
    manager_ids: list[strawberry.ID] | None = None
    customer_id: strawberry.ID | None = None
    overdue: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    search: str | None = strawberry.field(
        default=None, description="An order number, an externalId, or a customer's name, email or phone."
    )


# --- payloads ----------------------------------------------------------------------------------


@strawberry.type
class CreateSalesChannelPayload:
    user_errors: list[UserError]
    sales_channel: SalesChannelType | None = None


@strawberry.type
class PlaceOrderPayload:
    user_errors: list[UserError]
    order: OrderType | None = None


@strawberry.type
class SetOrderStatusPayload:
    user_errors: list[UserError]
    order: OrderType | None = None


@strawberry.type
class AssignOrderPayload:
    user_errors: list[UserError]
    order: OrderType | None = None


@strawberry.type
class AddOrderCommentPayload:
    user_errors: list[UserError]
    order: OrderType | None = None


@strawberry.type
class SetManagerShiftPayload:
    user_errors: list[UserError]
    user: UserType | None = None


@strawberry.type
class UpdateOrderSettingsPayload:
    user_errors: list[UserError]
    settings: OrderSettings | None = None


@strawberry.type
class RegisterPaymentPayload:
    user_errors: list[UserError]
    payment: PaymentType | None = None
    order: OrderType | None = None


@strawberry.type
class RefundPaymentPayload:
    user_errors: list[UserError]
    refund: PaymentType | None = None
    payment: PaymentType | None = strawberry.field(default=None, description="The payment refunded.")
    order: OrderType | None = None


@strawberry.type
class OrdersQuery:
    @strawberry.field
    async def sales_channels(self, info: Info) -> list[SalesChannelType]:
        return await r.sales_channels(info)

    @strawberry.field
    async def sales_channel(self, info: Info, id: strawberry.ID) -> SalesChannelType:
        return await r.sales_channel(info, id)

    @strawberry.field(description="Orders by number, oldest first.")
    async def orders(
        self,
        info: Info,
        filter: OrderFilterInput | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[OrderType]:
        return connection(await r.list_orders(info, filter, first, after))

    @strawberry.field
    async def order(self, info: Info, id: strawberry.ID) -> OrderType:
        return await r.order(info, id)

    @strawberry.field(description="Orders still NEW after their confirmation deadline.")
    async def overdue_orders(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> Connection[OrderType]:
        return connection(await r.list_orders(info, None, first, after, overdue=True))

    @strawberry.field
    async def order_settings(self, info: Info) -> OrderSettings:
        return await r.order_settings(info)  # type: ignore[return-value]

    @strawberry.field(description="Time to confirm (median, 90th percentile) and the share within deadline.")
    async def confirmation_stats(
        self,
        info: Info,
        created_from: Annotated[datetime, strawberry.argument(name="from")],
        created_to: Annotated[datetime, strawberry.argument(name="to")],
        channel_ids: list[strawberry.ID] | None = None,
    ) -> ConfirmationStats:
        overall, by_manager = await r.confirmation_stats(info, created_from, created_to, channel_ids)
        return ConfirmationStats(overall=overall, by_manager=by_manager)  # type: ignore[arg-type]


@strawberry.type
class OrdersMutation:
    @strawberry.mutation
    async def create_sales_channel(
        self, info: Info, input: CreateSalesChannelInput
    ) -> CreateSalesChannelPayload:
        async def action() -> dict:
            return {"sales_channel": await r.create_sales_channel(info, input)}

        return await payload(CreateSalesChannelPayload, action)

    @strawberry.mutation(description="Places an order; the same channelId and externalId again returns it.")
    async def place_order(self, info: Info, input: PlaceOrderInput) -> PlaceOrderPayload:
        async def action() -> dict:
            return {"order": await r.place_order(info, input)}

        return await payload(PlaceOrderPayload, action)

    @strawberry.mutation
    async def set_order_status(self, info: Info, input: SetOrderStatusInput) -> SetOrderStatusPayload:
        async def action() -> dict:
            return {"order": await r.set_order_status(info, input)}

        return await payload(SetOrderStatusPayload, action)

    @strawberry.mutation
    async def assign_order(self, info: Info, input: AssignOrderInput) -> AssignOrderPayload:
        async def action() -> dict:
            return {"order": await r.assign_order(info, input)}

        return await payload(AssignOrderPayload, action)

    @strawberry.mutation
    async def add_order_comment(self, info: Info, input: AddOrderCommentInput) -> AddOrderCommentPayload:
        async def action() -> dict:
            return {"order": await r.comment_order(info, input)}

        return await payload(AddOrderCommentPayload, action)

    @strawberry.mutation(description="Puts a manager on or off shift: only managers on shift get new orders.")
    async def set_manager_shift(self, info: Info, input: SetManagerShiftInput) -> SetManagerShiftPayload:
        async def action() -> dict:
            return {"user": await r.set_manager_shift(info, input)}

        return await payload(SetManagerShiftPayload, action)

    @strawberry.mutation
    async def update_order_settings(
        self, info: Info, input: UpdateOrderSettingsInput
    ) -> UpdateOrderSettingsPayload:
        async def action() -> dict:
            return {"settings": await r.update_order_settings(info, input)}

        return await payload(UpdateOrderSettingsPayload, action)

    @strawberry.mutation
    async def register_payment(self, info: Info, input: RegisterPaymentInput) -> RegisterPaymentPayload:
        async def action() -> dict:
            found, order = await r.register_payment(info, input)
            return {"payment": found, "order": order}

        return await payload(RegisterPaymentPayload, action)

    @strawberry.mutation
    async def refund_payment(self, info: Info, input: RefundPaymentInput) -> RefundPaymentPayload:
        async def action() -> dict:
            refund, paid, order = await r.refund_payment(info, input)
            return {"refund": refund, "payment": paid, "order": order}

        return await payload(RefundPaymentPayload, action)
