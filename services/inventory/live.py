"""Live stock: telling subscribers after commit which levels changed, and the feed they read."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Sequence

from models.catalog import Variant
from models.inventory import StockLevel, Warehouse
from services import broadcast
from services.access import Actor, Permission
from services.db import on_commit
from services.inventory.levels import levels_of_pairs
from services.inventory.ownership import owned_ids
from services.inventory.specs import Pair


def stock_channel(account_id: uuid.UUID) -> str:
    return f"account:{account_id}:stock"


def publish_after_commit(account_id: uuid.UUID, pairs: Iterable[Pair]) -> None:
    """After commit (never for work that rolls back), tells subscribers which levels changed.

    The message names the levels only; a subscriber reads them when it gets it, so what it
    shows is committed and current even when messages for one level overtake each other.
    """
    message = {"levels": [[str(w), str(v)] for w, v in sorted(pairs)]}
    if message["levels"]:
        on_commit(lambda: broadcast.publish(stock_channel(account_id), message))


async def stock_feed(
    actor: Actor,
    *,
    variant_ids: Sequence[object] | None = None,
    warehouse_ids: Sequence[object] | None = None,
) -> AsyncIterator[StockLevel]:
    """The account's stock levels as they change, for the `stockChanges` subscription.

    Filters by variants and warehouses (each the account's own, NOT_FOUND otherwise). Raises
    broadcast.SubscriptionEnded when the live feed ends; the levels themselves can be read again.
    """
    actor.require(Permission.STOCK_READ)
    variants = warehouses = None
    if variant_ids is not None:
        variants = set(await owned_ids(actor, Variant, variant_ids, ["variantIds"], "variant"))
    if warehouse_ids is not None:
        warehouses = set(await owned_ids(actor, Warehouse, warehouse_ids, ["warehouseIds"], "warehouse"))
    async with broadcast.subscribe(stock_channel(actor.account_id)) as messages:
        async for message in messages:
            pairs = [(uuid.UUID(w), uuid.UUID(v)) for w, v in message.get("levels", [])]
            wanted = [
                (w, v)
                for w, v in pairs
                if (variants is None or v in variants) and (warehouses is None or w in warehouses)
            ]
            for level in await levels_of_pairs(actor.account_id, wanted):
                yield level
