"""Payments and refunds of orders, the order's payment status, and the customer's figures.

A payment may not take an order past its total, and a refund may not give back more than its
payment took in. Both lock the order row, so two payments at once cannot overpay it together.

The customer's figures come from their orders in one grouped query: a sale is an order that
was not cancelled or returned; the balance is what they paid (payments less refunds) less the
goods shipped to them (orders SHIPPED, DELIVERED or COMPLETED) — positive, they have paid ahead;
negative, they owe.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import F, Q
from tortoise.functions import Count, Max, Sum

from models.accounts import Account
from models.orders import Order, Payment
from services import fiscal
from services.access import Actor, Permission
from services.amounts import minor_to_money, money_to_minor
from services.db import get_owned, transaction
from services.errors import InvalidInput
from services.order_timeline import (
    NOT_SALES,
    SHIPPED_STATUSES,
    EventSpec,
    OrderEventType,
    OrderStatus,
    record_event,
)


class PaymentMethod(enum.StrEnum):
    CASH = "CASH"
    CARD = "CARD"
    ONLINE = "ONLINE"
    TRANSFER = "TRANSFER"


class PaymentStatus(enum.StrEnum):
    UNPAID = "UNPAID"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    REFUNDED = "REFUNDED"


PAYMENT = "PAYMENT"
REFUND = "REFUND"


def payment_status(total_minor: int, paid_minor: int, refunded_minor: int) -> PaymentStatus:
    net = paid_minor - refunded_minor
    if net >= total_minor and (total_minor > 0 or refunded_minor == 0):
        return PaymentStatus.PAID
    if net > 0:
        return PaymentStatus.PARTIALLY_PAID
    return PaymentStatus.REFUNDED if refunded_minor > 0 else PaymentStatus.UNPAID


def _amount(raw: object, currency: str) -> int:
    minor = money_to_minor(raw, currency, ["amount"])  # type: ignore[arg-type]
    if minor == 0:
        raise InvalidInput.one(["amount"], "ZERO", "an amount must be more than zero")
    return minor


async def _save_paid(order: Order) -> None:
    order.payment_status = payment_status(order.total_minor, order.paid_minor, order.refunded_minor).value
    await order.save(update_fields=["paid_minor", "refunded_minor", "payment_status", "updated_at"])


async def register_payment(
    actor: Actor, order_id: object, amount: object, method: str, currency: str | None = None
) -> tuple[Payment, Order]:
    """Money received for an order; more than is still due is refused, and so is a payment in
    another currency than the account's. Its fiscal receipt is written with it (services/fiscal.py)."""
    actor.require(Permission.ORDERS_WRITE)
    if method not in PaymentMethod.__members__:
        raise InvalidInput.one(["method"], "INVALID", f"method is one of {', '.join(PaymentMethod)}")
    account_currency = (await Account.get(id=actor.account_id)).currency
    fiscal.check_payment_currency(account_currency, currency)
    currency = account_currency
    async with transaction():
        order = await get_owned(Order, actor, order_id, field=["orderId"], what="order", for_update=True)
        minor = _amount(amount, currency)
        if order.status == OrderStatus.CANCELLED:
            raise InvalidInput.one(["orderId"], "ORDER_CANCELLED", "a cancelled order takes no payments")
        due = order.total_minor - (order.paid_minor - order.refunded_minor)
        if minor > due:
            raise InvalidInput.one(
                ["amount"],
                "OVERPAYMENT",
                f"only {minor_to_money(due, currency)} {currency} is due on order {order.number}",
            )
        payment = await Payment.create(
            account_id=actor.account_id,
            order_id=order.id,
            kind=PAYMENT,
            method=method,
            amount_minor=minor,
            actor_id=actor.user_id,
        )
        order.paid_minor += minor
        await _save_paid(order)
        await record_event(
            order, actor.user_id, EventSpec(OrderEventType.PAID, payment_id=payment.id, amount_minor=minor)
        )
        await fiscal.create_receipt_for_payment(actor.account_id, payment.id, kind=fiscal.ReceiptKind.SELL)
    return payment, order


async def refund_payment(actor: Actor, payment_id: object, amount: object) -> tuple[Payment, Payment, Order]:
    """Gives back part or all of a payment: (the refund, the payment refunded, the order)."""
    actor.require(Permission.ORDERS_WRITE)
    currency = (await Account.get(id=actor.account_id)).currency
    async with transaction():
        payment = await get_owned(Payment, actor, payment_id, field=["paymentId"], what="payment")
        if payment.kind != PAYMENT:
            raise InvalidInput.one(["paymentId"], "NOT_A_PAYMENT", "a refund cannot be refunded")
        minor = _amount(amount, currency)
        order = await Order.filter(id=payment.order_id, account_id=actor.account_id).select_for_update().get()
        # One conditional update: the refunds of a payment never add up to more than it took in.
        refunded = await Payment.filter(
            id=payment.id, account_id=actor.account_id, refunded_minor__lte=payment.amount_minor - minor
        ).update(refunded_minor=F("refunded_minor") + minor)
        if not refunded:
            current = await Payment.get(id=payment.id, account_id=actor.account_id)
            left = minor_to_money(current.amount_minor - current.refunded_minor, currency)
            raise InvalidInput.one(
                ["amount"], "OVER_REFUND", f"only {left} {currency} of this payment can still be refunded"
            )
        payment.refunded_minor += minor
        refund = await Payment.create(
            account_id=actor.account_id,
            order_id=order.id,
            kind=REFUND,
            method=payment.method,
            amount_minor=minor,
            refund_of_id=payment.id,
            actor_id=actor.user_id,
        )
        order.refunded_minor += minor
        await _save_paid(order)
        await record_event(
            order, actor.user_id, EventSpec(OrderEventType.REFUNDED, payment_id=refund.id, amount_minor=minor)
        )
        await fiscal.create_receipt_for_payment(
            actor.account_id, refund.id, kind=fiscal.ReceiptKind.SELL_REFUND
        )
    return refund, payment, order


async def payments_of_orders(account_id: uuid.UUID, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list]:
    rows = await Payment.filter(account_id=account_id, order_id__in=list(order_ids)).order_by(
        "created_at", "id"
    )
    grouped: dict[uuid.UUID, list[Payment]] = {oid: [] for oid in order_ids}
    for row in rows:
        grouped[row.order_id].append(row)
    return grouped


# --- the customer's figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerMetrics:
    last_sale_at: datetime | None
    total_sales_minor: int
    order_count: int
    average_order_minor: int
    balance_minor: int


NO_ORDERS = CustomerMetrics(None, 0, 0, 0, 0)


async def customer_metrics(
    account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, CustomerMetrics]:
    """The figures of several customers in one grouped query."""
    sale = ~Q(status__in=list(NOT_SALES))
    rows = (
        await Order.filter(account_id=account_id, customer_id__in=list(customer_ids))
        .annotate(
            order_count=Count("id", _filter=sale),
            total_sales=Sum("total_minor", _filter=sale),
            last_sale=Max("created_at", _filter=sale),
            paid=Sum("paid_minor"),
            refunded=Sum("refunded_minor"),
            shipped=Sum("total_minor", _filter=Q(status__in=list(SHIPPED_STATUSES))),
        )
        .group_by("customer_id")
        .values("customer_id", "order_count", "total_sales", "last_sale", "paid", "refunded", "shipped")
    )
    result: dict[uuid.UUID, CustomerMetrics] = {}
    for row in rows:
        count = int(row["order_count"] or 0)
        total = int(row["total_sales"] or 0)
        average = (total * 2 + count) // (count * 2) if count else 0  # rounded half up
        balance = int(row["paid"] or 0) - int(row["refunded"] or 0) - int(row["shipped"] or 0)
        last = row["last_sale"]
        if isinstance(last, str):  # SQLite returns MAX() of a timestamp as text
            last = datetime.fromisoformat(last)
        result[row["customer_id"]] = CustomerMetrics(last, total, count, average, balance)
    return result
