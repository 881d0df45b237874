"""Orders: thin calls into the order services; relations through per-request loaders.

`load_order(info, id)` is the loader other domains use to show an order (the live feed's events).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from models.accounts import User
from models.catalog import PriceType, Variant
from models.customers import Customer
from models.events import Event
from models.inventory import Warehouse
from models.orders import Order, OrderLine, Payment, SalesChannel
from resolvers.common import actor, context, plain
from services import order_assignment, order_deadlines, orders, payments
from services.amounts import milli_to_quantity, minor_to_money
from services.db import rows_by_ids
from services.order_assignment import OrderSettings
from services.order_deadlines import ConfirmationFigures
from services.order_timeline import events_of_orders
from services.orders import CustomerRef, LineSpec, OrderFilter, PlaceOrder
from services.pagination import Page
from services.payments import CustomerMetrics

Fetch = Callable[[uuid.UUID, Sequence[uuid.UUID]], Awaitable[dict[uuid.UUID, Any]]]


async def _loader(info: Info, name: str, fetch: Fetch, default: Callable[[], Any]) -> DataLoader:
    loaders = await context(info).loaders()
    account_id = loaders.account_id

    def make() -> DataLoader:
        async def load(ids: Sequence[uuid.UUID]) -> list[Any]:
            found = await fetch(account_id, ids)
            return [found.get(i, default()) for i in ids]

        return DataLoader(load_fn=load)

    return loaders.custom(name, make)


def _rows(model: type) -> Fetch:
    async def fetch(account_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
        return await rows_by_ids(model, account_id, ids)

    return fetch


async def _one(info: Info, name: str, model: type, row_id: uuid.UUID | None) -> Any:
    if row_id is None:
        return None
    return await (await _loader(info, name, _rows(model), lambda: None)).load(row_id)


async def load_order(info: Info, order_id: uuid.UUID) -> Order | None:
    return await _one(info, "order", Order, order_id)


# --- mutations -----------------------------------------------------------------------------------


async def create_sales_channel(info: Info, data: Any) -> SalesChannel:
    return await orders.create_sales_channel(
        await actor(info),
        name=data.name,
        kind=plain(data.kind),
        warehouse_id=data.warehouse_id,
        price_type=data.price_type,
    )


def _place_order(data: Any) -> PlaceOrder:
    customer = None
    if data.customer is not None:
        c = data.customer
        customer = CustomerRef(id=c.id, name=c.name, email=c.email, phone=c.phone)
    delivery = data.delivery
    return PlaceOrder(
        channel_id=data.channel_id,
        external_id=data.external_id,
        customer=customer,
        lines=[
            LineSpec(variant_id=line.variant_id, sku=line.sku, quantity=line.quantity, price=line.price)
            for line in data.lines
        ],
        delivery_method=delivery.method if delivery else None,
        delivery_address=delivery.address if delivery else None,
        comment=data.comment,
    )


async def place_order(info: Info, data: Any) -> Order:
    return await orders.place_order(await actor(info), _place_order(data))


async def set_order_status(info: Info, data: Any) -> Order:
    return await orders.set_order_status(await actor(info), data.order_id, plain(data.status), data.comment)


async def assign_order(info: Info, data: Any) -> Order:
    return await order_assignment.assign_order(await actor(info), data.order_id, data.manager_id)


async def comment_order(info: Info, data: Any) -> Order:
    return await orders.comment_order(await actor(info), data.order_id, data.text)


async def set_manager_shift(info: Info, data: Any) -> User:
    return await order_assignment.set_manager_shift(await actor(info), data.user_id, data.on_shift)


async def update_order_settings(info: Info, data: Any) -> OrderSettings:
    return await order_assignment.update_order_settings(
        await actor(info),
        confirmation_minutes=data.confirmation_minutes,
        assignment_strategy=plain(data.assignment_strategy),
    )


async def register_payment(info: Info, data: Any) -> tuple[Payment, Order]:
    return await payments.register_payment(
        await actor(info), data.order_id, data.amount, plain(data.method), getattr(data, "currency", None)
    )


async def refund_payment(info: Info, data: Any) -> tuple[Payment, Payment, Order]:
    return await payments.refund_payment(await actor(info), data.payment_id, data.amount)


# --- queries -------------------------------------------------------------------------------------


async def sales_channels(info: Info) -> list[SalesChannel]:
    return await orders.list_sales_channels(await actor(info))


async def sales_channel(info: Info, channel_id: Any) -> SalesChannel:
    return await orders.get_sales_channel(await actor(info), channel_id)


async def order(info: Info, order_id: Any) -> Order:
    return await orders.get_order(await actor(info), order_id)


def _filter(flt: Any, overdue: bool | None = None) -> OrderFilter:
    if flt is None:
        return OrderFilter(overdue=overdue)
    return OrderFilter(
        statuses=[plain(s) for s in flt.statuses or []],
        channel_ids=list(flt.channel_ids or []),
        manager_ids=list(flt.manager_ids or []),
        customer_id=flt.customer_id,
        overdue=flt.overdue if overdue is None else overdue,
        created_from=flt.created_from,
        created_to=flt.created_to,
        search=flt.search,
    )


async def list_orders(
    info: Info, flt: Any, first: int | None, after: str | None, *, overdue: bool | None = None
) -> Page[Order]:
    return await orders.list_orders(await actor(info), _filter(flt, overdue), first=first, after=after)


async def order_settings(info: Info) -> OrderSettings:
    return await order_assignment.get_order_settings(await actor(info))


async def confirmation_stats(
    info: Info, created_from: datetime, created_to: datetime, channel_ids: Sequence[Any] | None
) -> tuple[ConfirmationFigures, list[ConfirmationFigures]]:
    return await order_deadlines.confirmation_stats(
        await actor(info),
        created_from=created_from,
        created_to=created_to,
        channel_ids=list(channel_ids or []),
    )


# --- relations and values, through the loaders -----------------------------------------------------


async def channel_of(info: Info, row: Order) -> SalesChannel:
    return await _one(info, "sales_channel", SalesChannel, row.channel_id)


async def price_type_of(info: Info, row: SalesChannel) -> PriceType:
    return await (await context(info).loaders()).price_type.load(row.price_type_id)


async def warehouse_of(info: Info, warehouse_id: uuid.UUID | None) -> Warehouse | None:
    return await _one(info, "order_warehouse", Warehouse, warehouse_id)


async def customer_of(info: Info, row: Order) -> Customer:
    return await (await context(info).loaders()).customer.load(row.customer_id)


async def user(info: Info, user_id: uuid.UUID | None) -> User | None:
    return await _one(info, "user", User, user_id)


async def variant_of(info: Info, row: OrderLine) -> Variant:
    return await (await context(info).loaders()).variant.load(row.variant_id)


async def lines_of(info: Info, row: Order) -> list[OrderLine]:
    return await (await _loader(info, "order_lines", orders.lines_of_orders, list)).load(row.id)


async def events_of(info: Info, row: Order) -> list[Event]:
    return await (await _loader(info, "order_events", events_of_orders, list)).load(row.id)


async def payments_of(info: Info, row: Order) -> list[Payment]:
    return await (await _loader(info, "order_payments", payments.payments_of_orders, list)).load(row.id)


async def payment(info: Info, payment_id: uuid.UUID | None) -> Payment | None:
    return await _one(info, "payment", Payment, payment_id)


async def customer_metrics(info: Info, customer: Customer) -> CustomerMetrics:
    loader = await _loader(info, "customer_metrics", payments.customer_metrics, lambda: payments.NO_ORDERS)
    return await loader.load(customer.id)


async def money(info: Info, minor: int) -> Any:
    return minor_to_money(minor, await context(info).currency())


def quantity(row: OrderLine) -> Any:
    return milli_to_quantity(row.quantity_milli, row.unit)


def uuid_or_none(raw: object) -> uuid.UUID | None:
    return uuid.UUID(str(raw)) if raw else None


def is_overdue(row: Order) -> bool:
    return orders.is_overdue(row)
