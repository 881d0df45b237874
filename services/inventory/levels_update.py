"""Applying a document's movements to the materialised stock levels, in one sorted pass.

Every decrease of free stock is one conditional UPDATE (no row changed → short), and level rows
are touched in (warehouse_id, variant_id) order, so concurrent documents wait instead of deadlocking.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tortoise.expressions import F

from models.inventory import StockLevel
from services.errors import ProblemList
from services.inventory.shortages import level_facts
from services.inventory.specs import Pair


@dataclass
class _Change:
    delta: int = 0
    count_to: int | None = None  # a COUNT: on hand becomes this
    fields: list[tuple[str, ...]] = field(default_factory=list)


class LevelChanges:
    """What a document does to each level, applied in one sorted pass."""

    def __init__(self) -> None:
        self.by_pair: dict[Pair, _Change] = {}

    def add(self, pair: Pair, delta: int, where: Sequence[str]) -> None:
        change = self.by_pair.setdefault(pair, _Change())
        change.delta += delta
        change.fields.append(tuple(where))

    def count(self, pair: Pair, counted: int, where: Sequence[str]) -> None:
        change = self.by_pair.setdefault(pair, _Change())
        change.count_to = counted
        change.fields.append(tuple(where))

    def pairs(self) -> list[Pair]:
        return sorted(self.by_pair)


async def ensure_level(account_id: uuid.UUID, pair: Pair) -> None:
    """Makes the level row exist (ownership already checked). Safe against a concurrent creator."""
    await StockLevel.bulk_create(
        [StockLevel(id=uuid.uuid4(), account_id=account_id, warehouse_id=pair[0], variant_id=pair[1])],
        ignore_conflicts=True,
    )


async def apply_changes(
    account_id: uuid.UUID, changes: LevelChanges, *, allow_backorders: bool, now: datetime
) -> dict[Pair, int]:
    """Applies the changes to the levels in (warehouse, variant) order; returns COUNT differences.

    A decrease needs that much free stock (on hand − reserved), or with backorders allowed that
    much on hand: one conditional UPDATE each. Short pairs are collected and raised together.
    """
    differences: dict[Pair, int] = {}
    short: list[Pair] = []
    for pair in changes.pairs():
        change = changes.by_pair[pair]
        level = StockLevel.filter(account_id=account_id, warehouse_id=pair[0], variant_id=pair[1])
        if change.count_to is not None:
            await ensure_level(account_id, pair)
            row = await level.select_for_update().first()
            assert row is not None
            differences[pair] = change.count_to - row.on_hand_milli
            if differences[pair]:
                await level.update(on_hand_milli=change.count_to, updated_at=now)
        elif change.delta > 0:
            if not await level.update(on_hand_milli=F("on_hand_milli") + change.delta, updated_at=now):
                await ensure_level(account_id, pair)
                await level.update(on_hand_milli=F("on_hand_milli") + change.delta, updated_at=now)
        elif change.delta < 0:
            need = -change.delta
            guarded = (
                level.filter(on_hand_milli__gte=need)
                if allow_backorders
                else level.filter(on_hand_milli__gte=F("reserved_milli") + need)
            )
            if not await guarded.update(on_hand_milli=F("on_hand_milli") - need, updated_at=now):
                short.append(pair)
    if short:
        facts = await level_facts(account_id, short)
        problems = ProblemList()
        for pair in short:
            fact = facts[pair]
            need = -changes.by_pair[pair].delta
            if allow_backorders:
                message = (
                    f"not enough {fact.sku} in {fact.warehouse_name}: {fact.qty(need)} wanted, "
                    f"{fact.qty(fact.on_hand)} on hand"
                )
            else:
                message = (
                    f"not enough {fact.sku} in {fact.warehouse_name}: {fact.qty(need)} wanted, "
                    f"{fact.qty(max(fact.free, 0))} free ({fact.qty(fact.on_hand)} on hand, "
                    f"{fact.qty(fact.reserved)} reserved)"
                )
            for where in changes.by_pair[pair].fields:
                problems.add(where, "INSUFFICIENT_STOCK", message)
        problems.raise_if_any()
    return differences
