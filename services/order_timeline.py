"""An order's timeline, and the names the order services share.

Every status change, assignment, payment, refund, comment and missed deadline of an order is an
entry of the account's event log (services/events.py, topic `orders`) with its actor and time:
the live feeds publish it after commit, and the order's timeline is its entries in that log.
`record_event` writes them inside the caller's transaction, so an event exists exactly when the
change it tells of does. The log takes the account row's lock until commit: record last.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from models.events import Event
from models.orders import Order
from services import events


class OrderStatus(enum.StrEnum):
    NEW = "NEW"
    CONFIRMED = "CONFIRMED"
    PACKED = "PACKED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    RETURNED = "RETURNED"


class OrderEventType(enum.StrEnum):
    CREATED = "CREATED"
    STATUS_CHANGED = "STATUS_CHANGED"
    ASSIGNED = "ASSIGNED"
    PAID = "PAID"
    REFUNDED = "REFUNDED"
    COMMENTED = "COMMENTED"
    DEADLINE_MISSED = "DEADLINE_MISSED"


# Goods have left the warehouse in these: they count against the customer's balance.
SHIPPED_STATUSES = (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED)
# Not a sale (for the customer's sales figures).
NOT_SALES = (OrderStatus.CANCELLED, OrderStatus.RETURNED)


@dataclass(frozen=True)
class EventSpec:
    """One thing that happened to an order, as `record_event` writes it."""

    type: OrderEventType
    from_status: str | None = None
    to_status: str | None = None
    previous_manager_id: uuid.UUID | None = None
    payment_id: uuid.UUID | None = None
    amount_minor: int | None = None
    comment: str = ""


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def payload_of(order: Order, spec: EventSpec) -> dict[str, object]:
    """The entry's payload: the order as it is now (number, status, channel and manager, which the
    feeds filter on) and what happened."""
    return {
        "number": order.number,
        "status": order.status,
        "channel_id": _text(order.channel_id),
        "manager_id": _text(order.manager_id),
        "previous_manager_id": _text(spec.previous_manager_id),
        "from_status": _text(spec.from_status),
        "to_status": _text(spec.to_status),
        "payment_id": _text(spec.payment_id),
        "amount_minor": spec.amount_minor,
        "comment": spec.comment or None,
    }


async def record_event(order: Order, actor_user_id: uuid.UUID | None, *specs: EventSpec) -> None:
    """Adds events of the order to the account's log; call inside the change's transaction, last."""
    await events.record_many(
        order.account_id,
        events.ORDERS,
        [
            events.NewEvent(spec.type.value, payload_of(order, spec), order.id, actor_user_id)
            for spec in specs
        ],
    )


async def events_of_orders(account_id: uuid.UUID, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list]:
    """The timelines of several orders in one query, oldest first."""
    rows = await Event.filter(
        account_id=account_id, topic=events.ORDERS, order_id__in=list(order_ids)
    ).order_by("position")
    grouped: dict[uuid.UUID, list[Event]] = {oid: [] for oid in order_ids}
    for row in rows:
        grouped[row.order_id].append(row)
    return grouped
