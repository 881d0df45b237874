"""Records that hang off orders (fiscal receipts, dropship orders): listed the same way."""

from __future__ import annotations

from tortoise.models import Model

from models.orders import Order
from services.access import Actor, Permission
from services.db import get_owned
from services.pagination import Page, paginate


async def page_of_order_records(
    model: type[Model],
    actor: Actor,
    *,
    order_id: object | None,
    status: str | None,
    first: int | None,
    after: str | None,
) -> Page:
    """A page of `model`'s rows in the actor's account, of one order and one status if given."""
    actor.require(Permission.ORDERS_READ)
    query = model.filter(account_id=actor.account_id)
    if order_id is not None:
        order = await get_owned(Order, actor, order_id, field=["orderId"], what="order")
        query = query.filter(order_id=order.id)
    if status:
        query = query.filter(status=status)
    return await paginate(query, order_by="created_at", first=first, after=after)
