"""NOT_FOUND checks for ids given by callers: each warehouse and variant must be the account's own."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from models.catalog import Variant
from models.inventory import Warehouse
from services.access import Actor
from services.db import parse_id
from services.errors import InvalidInput, NotFound, ProblemList
from services.inventory.specs import Pair

MAX_FILTER_IDS = 250


async def owned_ids(
    actor: Actor, model: type, raw_ids: Sequence[object], field: Sequence[str], what: str
) -> list[uuid.UUID]:
    """Ids from a filter, each of which must be the account's own (NOT_FOUND otherwise)."""
    if len(raw_ids) > MAX_FILTER_IDS:
        raise InvalidInput.one(field, "TOO_MANY", f"at most {MAX_FILTER_IDS} ids")
    ids = [parse_id(raw, [*field, str(i)], what) for i, raw in enumerate(raw_ids)]
    found = set(
        await model.filter(account_id=actor.account_id, id__in=list(set(ids))).values_list("id", flat=True)
    )
    for index, object_id in enumerate(ids):
        if object_id not in found:
            raise NotFound([*field, str(index)], what)
    return ids


async def check_owned(account_id: uuid.UUID, items: Sequence[tuple[Pair, Sequence[str]]]) -> None:
    """NOT_FOUND at each item's field whose warehouse or variant is not in this account."""
    warehouses = set(
        await Warehouse.filter(account_id=account_id, id__in=list({p[0] for p, _ in items})).values_list(
            "id", flat=True
        )
    )
    variants = set(
        await Variant.filter(account_id=account_id, id__in=list({p[1] for p, _ in items})).values_list(
            "id", flat=True
        )
    )
    problems = ProblemList()
    for (warehouse_id, variant_id), where in items:
        if warehouse_id not in warehouses:
            problems.add(tuple(where), "NOT_FOUND", "warehouse not found")
        elif variant_id not in variants:
            problems.add(tuple(where), "NOT_FOUND", "variant not found")
    problems.raise_if_any()
