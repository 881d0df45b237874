"""Reservations and the other stock calls of the orders domain (and purchasing), by account id.

They take an account id, not an Actor: the caller checked its user already and calls them from
inside its own transaction (ours becomes a savepoint).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from tortoise import timezone
from tortoise.expressions import F

from models.inventory import Reservation, StockDocumentLine, StockLevel, StockMovement
from services.amounts import MAX_QUANTITY_MILLI
from services.db import transaction
from services.errors import ProblemList
from services.inventory.ledger import documents_per_warehouse
from services.inventory.levels import stock_levels_of
from services.inventory.levels_update import LevelChanges, apply_changes, ensure_level
from services.inventory.live import publish_after_commit
from services.inventory.ownership import check_owned
from services.inventory.shortages import level_facts, reservation_shortage
from services.inventory.specs import Pair, ReservationRequest
from services.raw_sql import raw_count, raw_rows

OPEN, RELEASED, SHIPPED = "OPEN", "RELEASED", "SHIPPED"


async def reserve_stock(
    account_id: uuid.UUID, requests: Sequence[ReservationRequest], *, allow_backorders: bool
) -> None:
    """Reserves stock for order lines, all or nothing.

    Requests for the same (warehouse, variant) are checked together. A short line gives an
    INSUFFICIENT_STOCK problem at its `field` naming the sku and what is free; an unknown (or
    another account's) warehouse or variant gives NOT_FOUND there. Idempotent per order line: a
    line with an open (or shipped) reservation is left as it is; a released one is reserved again.
    """
    if not requests:
        return
    problems = ProblemList()
    seen: set[uuid.UUID] = set()
    for request in requests:
        if not 0 < request.quantity_milli < MAX_QUANTITY_MILLI:
            problems.add(request.field, "INVALID_QUANTITY", "a reserved quantity must be positive")
        if request.order_line_id in seen:
            problems.add(request.field, "DUPLICATE_LINE", "an order line is reserved once per call")
        seen.add(request.order_line_id)
    problems.raise_if_any()
    async with transaction():
        await _reserve(account_id, requests, allow_backorders)


async def release_reservations(account_id: uuid.UUID, order_line_ids: Sequence[uuid.UUID]) -> None:
    """Frees the open reservations of these order lines; lines without one are skipped."""
    if not order_line_ids:
        return
    async with transaction():
        rows = await _lock_open_reservations(account_id, order_line_ids)
        if not rows:
            return
        totals = _totals(rows)
        now = timezone.now()
        for warehouse_id, variant_id in sorted(totals):
            await StockLevel.filter(
                account_id=account_id, warehouse_id=warehouse_id, variant_id=variant_id
            ).update(reserved_milli=F("reserved_milli") - totals[(warehouse_id, variant_id)], updated_at=now)
        await Reservation.filter(account_id=account_id, id__in=[r.id for r in rows]).update(
            status=RELEASED, updated_at=now
        )
        publish_after_commit(account_id, totals)


async def ship_reservations(
    account_id: uuid.UUID, order_line_ids: Sequence[uuid.UUID], *, user_id: uuid.UUID | None, reference: str
) -> None:
    """Ships the open reservations of these lines: a SHIPMENT document per warehouse.

    On hand and reserved both go down by the reserved quantity, and each movement keeps the
    variant's average cost. Lines without an open reservation are skipped.
    """
    if not order_line_ids:
        return
    positions = {line_id: index for index, line_id in enumerate(order_line_ids)}
    async with transaction():
        rows = await _lock_open_reservations(account_id, order_line_ids)
        if not rows:
            return
        now = timezone.now()
        documents, lines, movements = await documents_per_warehouse(
            account_id, "SHIPMENT", rows, sign=-1, user_id=user_id, reference=reference, now=now
        )
        for row in rows:
            row.shipment_id = documents[row.warehouse_id].id
        totals = _totals(rows)
        short: list[Pair] = []
        for warehouse_id, variant_id in sorted(totals):
            quantity = totals[(warehouse_id, variant_id)]
            changed = await StockLevel.filter(
                account_id=account_id,
                warehouse_id=warehouse_id,
                variant_id=variant_id,
                on_hand_milli__gte=quantity,
            ).update(
                on_hand_milli=F("on_hand_milli") - quantity,
                reserved_milli=F("reserved_milli") - quantity,
                updated_at=now,
            )
            if not changed:
                short.append((warehouse_id, variant_id))
        if short:
            problems = ProblemList()
            facts = await level_facts(account_id, short)
            for row in rows:
                pair = (row.warehouse_id, row.variant_id)
                if pair in short:
                    fact = facts[pair]
                    problems.add(
                        ("orderLineIds", str(positions[row.order_line_id])),
                        "INSUFFICIENT_STOCK",
                        f"cannot ship {fact.qty(totals[pair])} of {fact.sku} from {fact.warehouse_name}: "
                        f"only {fact.qty(fact.on_hand)} on hand",
                    )
            problems.raise_if_any()
        await StockDocumentLine.bulk_create(lines)
        await StockMovement.bulk_create(movements)
        for document_id in {r.shipment_id for r in rows}:
            await Reservation.filter(
                account_id=account_id, id__in=[r.id for r in rows if r.shipment_id == document_id]
            ).update(status=SHIPPED, shipment_id=document_id, updated_at=now)
        publish_after_commit(account_id, totals)


async def return_to_stock(
    account_id: uuid.UUID,
    lines: Sequence[ReservationRequest],
    *,
    user_id: uuid.UUID | None,
    reference: str,
) -> None:
    """Brings goods back: a RETURN document per warehouse, at the variants' average cost."""
    if not lines:
        return
    problems = ProblemList()
    for line in lines:
        if not 0 < line.quantity_milli < MAX_QUANTITY_MILLI:
            problems.add(line.field, "INVALID_QUANTITY", "a returned quantity must be positive")
    problems.raise_if_any()
    await check_owned(account_id, [((r.warehouse_id, r.variant_id), r.field) for r in lines])
    async with transaction():
        now = timezone.now()
        _, doc_lines, movements = await documents_per_warehouse(
            account_id, "RETURN", lines, sign=1, user_id=user_id, reference=reference, now=now
        )
        changes = LevelChanges()
        for m in movements:
            changes.add((m.warehouse_id, m.variant_id), m.quantity_milli, ())
        await apply_changes(account_id, changes, allow_backorders=True, now=now)
        await StockDocumentLine.bulk_create(doc_lines)
        await StockMovement.bulk_create(movements)
        publish_after_commit(account_id, changes.pairs())


async def free_stock(
    account_id: uuid.UUID, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """Free now (on hand − reserved, thousandths) per (warehouse_id, variant_id); 0 where nothing is kept."""
    result = {pair: 0 for pair in pairs}
    if not pairs:
        return result
    rows = await stock_levels_of(account_id, pairs).values_list(
        "warehouse_id", "variant_id", "on_hand_milli", "reserved_milli"
    )
    for warehouse_id, variant_id, on_hand, reserved in rows:
        if (warehouse_id, variant_id) in result:
            result[(warehouse_id, variant_id)] = on_hand - reserved
    return result


async def adjust_incoming(account_id: uuid.UUID, changes: Sequence[tuple[uuid.UUID, uuid.UUID, int]]) -> None:
    """Changes `incoming` (goods on their way, e.g. ordered from a supplier) by signed thousandths.

    For purchasing: call it in the transaction that orders or receives the goods. Incoming never
    goes below zero (a larger decrease sets it to zero).
    """
    totals: dict[Pair, int] = defaultdict(int)
    for warehouse_id, variant_id, delta in changes:
        totals[(warehouse_id, variant_id)] += delta
    if not totals:
        return
    await check_owned(account_id, [(pair, ()) for pair in totals])
    async with transaction():
        now = timezone.now()
        for pair in sorted(totals):
            delta = totals[pair]
            if delta == 0:
                continue
            await ensure_level(account_id, pair)
            level = StockLevel.filter(account_id=account_id, warehouse_id=pair[0], variant_id=pair[1])
            changed = await level.filter(incoming_milli__gte=-delta).update(
                incoming_milli=F("incoming_milli") + delta, updated_at=now
            )
            if not changed:
                await level.update(incoming_milli=0, updated_at=now)
        publish_after_commit(account_id, totals)


# --- inside ------------------------------------------------------------------------------------


def _totals(rows: Iterable[Reservation]) -> dict[Pair, int]:
    """Reserved quantity per (warehouse, variant) over these reservations."""
    totals: dict[Pair, int] = defaultdict(int)
    for row in rows:
        totals[(row.warehouse_id, row.variant_id)] += row.quantity_milli
    return totals


async def _lock_open_reservations(
    account_id: uuid.UUID, order_line_ids: Sequence[uuid.UUID]
) -> list[Reservation]:
    return list(
        await Reservation.filter(account_id=account_id, order_line_id__in=list(order_line_ids), status=OPEN)
        .order_by("id")
        .select_for_update()
    )


async def _reserve(
    account_id: uuid.UUID, requests: Sequence[ReservationRequest], allow_backorders: bool
) -> None:
    """The hot path: one INSERT of the new reservations and one conditional UPDATE per level.

    Inserting first (ON CONFLICT DO NOTHING, in order-line order) makes the idempotency check
    and the lock on the order line one statement; the lines it did not insert already had a
    reservation, read (and locked) only then. A shortage raises, and the rollback takes the
    inserted rows back with it.
    """
    now = timezone.now()
    ordered = sorted(requests, key=lambda r: r.order_line_id)
    inserted = await _insert_reservations(account_id, ordered, now)
    todo = [r for r in ordered if r.order_line_id in inserted]
    reopened: list[tuple[Reservation, ReservationRequest]] = []
    if len(inserted) < len(ordered):
        by_line = {r.order_line_id: r for r in ordered if r.order_line_id not in inserted}
        existing = Reservation.filter(account_id=account_id, order_line_id__in=list(by_line))
        for row in await existing.order_by("id").select_for_update():
            if row.status == RELEASED:  # open or shipped: reserved already, nothing to do
                reopened.append((row, by_line[row.order_line_id]))
                todo.append(by_line[row.order_line_id])
    if not todo:
        return
    by_pair: dict[Pair, list[ReservationRequest]] = defaultdict(list)
    for request in todo:
        by_pair[(request.warehouse_id, request.variant_id)].append(request)
    short: list[Pair] = []
    for pair in sorted(by_pair):
        quantity = sum(r.quantity_milli for r in by_pair[pair])
        if not await _add_reserved(account_id, pair, quantity, allow_backorders, now, by_pair[pair]):
            short.append(pair)
    if short:
        raise await reservation_shortage(account_id, short, by_pair)
    for row, request in reopened:
        await Reservation.filter(id=row.id, account_id=account_id).update(
            status=OPEN,
            warehouse_id=request.warehouse_id,
            variant_id=request.variant_id,
            quantity_milli=request.quantity_milli,
            shipment_id=None,
            updated_at=now,
        )
    publish_after_commit(account_id, by_pair)


async def _insert_reservations(
    account_id: uuid.UUID, requests: Sequence[ReservationRequest], now: datetime
) -> set[uuid.UUID]:
    """Inserts an OPEN reservation per request unless its order line has one; the lines inserted."""
    columns = 9
    values: list[object] = []
    rows = []
    for index, r in enumerate(requests):
        rows.append("(" + ", ".join(f"${index * columns + i + 1}" for i in range(columns)) + ")")
        values += [
            str(uuid.uuid4()),
            now,
            now,
            str(account_id),
            str(r.order_line_id),
            str(r.warehouse_id),
            str(r.variant_id),
            r.quantity_milli,
            OPEN,
        ]
    sql = (
        "INSERT INTO stock_reservation (id, created_at, updated_at, account_id, order_line_id, "
        "warehouse_id, variant_id, quantity_milli, status) VALUES " + ", ".join(rows) + " "
        "ON CONFLICT (account_id, order_line_id) DO NOTHING RETURNING order_line_id"
    )
    found = await raw_rows(sql, values)
    return {uuid.UUID(str(row["order_line_id"])) for row in found}


_RESERVE = (
    "UPDATE stock_level SET reserved_milli = reserved_milli + $1, updated_at = $2 "
    "WHERE account_id = $3 AND warehouse_id = $4 AND variant_id = $5"
)
_RESERVE_IF_FREE = _RESERVE + " AND on_hand_milli - reserved_milli >= $6"


async def _add_reserved(
    account_id: uuid.UUID,
    pair: Pair,
    quantity: int,
    allow_backorders: bool,
    now: datetime,
    requests: Sequence[ReservationRequest],
) -> bool:
    """One conditional UPDATE: reserves `quantity` if that much is free (or backorders are allowed)."""
    values: list[object] = [quantity, now, str(account_id), str(pair[0]), str(pair[1])]
    if allow_backorders:
        if await raw_count(_RESERVE, values):
            return True
        # Backorders: nothing was ever kept here, so there is no row yet to reserve on.
        await check_owned(account_id, [(pair, r.field) for r in requests])
        await ensure_level(account_id, pair)
        return bool(await raw_count(_RESERVE, values))
    return bool(await raw_count(_RESERVE_IF_FREE, [*values, quantity]))
