"""INSUFFICIENT_STOCK: what the error says about a level that is short (sku, warehouse, figures)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from models.catalog import Variant
from models.inventory import Warehouse
from services.amounts import milli_to_quantity
from services.errors import InvalidInput, Problem
from services.inventory.levels import stock_levels_of
from services.inventory.ownership import check_owned
from services.inventory.specs import Pair, ReservationRequest


@dataclass(frozen=True)
class Fact:
    """What an error message says about a stock level."""

    sku: str
    unit: str
    warehouse_name: str
    on_hand: int
    reserved: int

    @property
    def free(self) -> int:
        return self.on_hand - self.reserved

    def qty(self, milli: int) -> str:
        return str(milli_to_quantity(milli, self.unit))


async def level_facts(account_id: uuid.UUID, pairs: Iterable[Pair]) -> dict[Pair, Fact]:
    pairs = list(pairs)
    variants = {
        row["id"]: row
        for row in await Variant.filter(account_id=account_id, id__in=list({v for _, v in pairs})).values(
            "id", "sku", "product__unit"
        )
    }
    warehouses = dict(
        await Warehouse.filter(account_id=account_id, id__in=list({w for w, _ in pairs})).values_list(
            "id", "name"
        )
    )
    levels = {
        (w, v): (on_hand, reserved)
        for w, v, on_hand, reserved in await stock_levels_of(account_id, pairs).values_list(
            "warehouse_id", "variant_id", "on_hand_milli", "reserved_milli"
        )
    }
    result = {}
    for pair in pairs:
        variant = variants.get(pair[1]) or {"sku": "?", "product__unit": "PCS"}
        on_hand, reserved = levels.get(pair, (0, 0))
        result[pair] = Fact(
            variant["sku"], variant["product__unit"], warehouses.get(pair[0], "?"), on_hand, reserved
        )
    return result


async def reservation_shortage(
    account_id: uuid.UUID, short: list[Pair], by_pair: dict[Pair, list[ReservationRequest]]
) -> InvalidInput:
    """The error for requests that found too little free: NOT_FOUND first, else INSUFFICIENT_STOCK."""
    await check_owned(account_id, [(pair, r.field) for pair in short for r in by_pair[pair]])
    facts = await level_facts(account_id, short)
    problems: list[Problem] = []
    for pair in short:
        fact = facts[pair]
        wanted = sum(r.quantity_milli for r in by_pair[pair])
        for request in by_pair[pair]:
            problems.append(
                Problem(
                    tuple(request.field),
                    "INSUFFICIENT_STOCK",
                    f"not enough {fact.sku} in {fact.warehouse_name}: {fact.qty(wanted)} wanted, "
                    f"{fact.qty(max(fact.free, 0))} free",
                )
            )
    return InvalidInput(problems)
