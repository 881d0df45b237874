"""Average cost: each variant's moving weighted average unit cost, read and kept up to date."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from tortoise import timezone
from tortoise.functions import Sum

from models.inventory import StockLevel, VariantCost


async def average_costs(account_id: uuid.UUID, variant_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    return dict(
        await VariantCost.filter(account_id=account_id, variant_id__in=list(set(variant_ids))).values_list(
            "variant_id", "unit_cost_minor"
        )
    )


def received_by_variant(
    lines: Iterable[tuple[uuid.UUID, int, int]],
) -> dict[uuid.UUID, tuple[int, int]]:
    """(variant, quantity, unit cost) lines summed per variant into what `update_average_costs` takes."""
    received: dict[uuid.UUID, tuple[int, int]] = {}
    for variant_id, quantity_milli, unit_cost_minor in lines:
        quantity, value = received.get(variant_id, (0, 0))
        received[variant_id] = (quantity + quantity_milli, value + quantity_milli * unit_cost_minor)
    return received


async def update_average_costs(
    account_id: uuid.UUID, received: dict[uuid.UUID, tuple[int, int]], *, reversing: bool
) -> None:
    """Moving weighted average: (stock × average ± received × cost) / (stock ± received).

    `received` is variant → (quantity in thousandths, total cost in minor units × thousandths).
    Runs before the levels change, with the variants' cost rows locked (in variant order), so
    two receipts of one variant never lose each other's update. Stock below zero counts as zero;
    a reversed receipt leaves the average alone when it would leave nothing or a negative value.
    """
    variant_ids = sorted(received)
    await VariantCost.bulk_create(
        [VariantCost(id=uuid.uuid4(), account_id=account_id, variant_id=v) for v in variant_ids],
        ignore_conflicts=True,
    )
    rows = {
        row.variant_id: row
        for row in await VariantCost.filter(account_id=account_id, variant_id__in=variant_ids)
        .order_by("variant_id")
        .select_for_update()
    }
    stock = {
        row["variant_id"]: int(row["total"] or 0)
        for row in await StockLevel.filter(account_id=account_id, variant_id__in=variant_ids)
        .annotate(total=Sum("on_hand_milli"))
        .group_by("variant_id")
        .values("variant_id", "total")
    }
    now = timezone.now()
    for variant_id in variant_ids:
        quantity, value = received[variant_id]
        before = max(stock.get(variant_id, 0), 0)
        row = rows[variant_id]
        sign = -1 if reversing else 1
        total_quantity = before + sign * quantity
        total_value = before * row.unit_cost_minor + sign * value
        if total_quantity <= 0 or total_value < 0:
            continue
        average = (2 * total_value + total_quantity) // (2 * total_quantity)  # rounded half up
        if average != row.unit_cost_minor:
            await VariantCost.filter(id=row.id).update(unit_cost_minor=average, updated_at=now)
