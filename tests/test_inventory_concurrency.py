"""Stock under concurrent load, on PostgreSQL (SQLite serialises everything, so it proves nothing)."""

from __future__ import annotations

import asyncio
import random
import uuid

import pytest

from models.inventory import Reservation
from services import inventory
from services.errors import InvalidInput
from services.inventory import DocumentLineSpec, DocumentSpec, ReservationRequest
from tests.test_inventory_helpers import add_warehouse, assert_invariants, level, receive, stockroom

pytestmark = pytest.mark.postgres_only


async def test_fifty_concurrent_reservations_against_ten_on_hand_give_exactly_ten(db, company):
    room = await stockroom(company)
    variant = room.variants["A"]
    await receive(room.actor, room.warehouse_id, {variant: 10})

    async def one(index: int) -> str:
        request = ReservationRequest(uuid.uuid4(), room.warehouse_id, variant, 1000, ("lines", str(index)))
        try:
            await inventory.reserve_stock(room.account_id, [request], allow_backorders=False)
        except InvalidInput as exc:
            assert [p.code for p in exc.problems] == ["INSUFFICIENT_STOCK"]
            assert "A" in exc.problems[0].message and "0 free" in exc.problems[0].message
            return "short"
        return "ok"

    results = await asyncio.gather(*(one(i) for i in range(50)))
    assert results.count("ok") == 10
    assert results.count("short") == 40
    assert await level(room.account_id, room.warehouse_id, variant) == (10_000, 10_000, 0)
    assert await Reservation.filter(account_id=room.account_id, status="OPEN").count() == 10
    await assert_invariants(room.account_id)


async def test_the_same_order_line_reserved_by_racing_calls_is_reserved_once(db, company):
    room = await stockroom(company)
    await receive(room.actor, room.warehouse_id, {room.variants["A"]: 10})
    line = uuid.uuid4()
    request = ReservationRequest(line, room.warehouse_id, room.variants["A"], 2000)
    await asyncio.gather(
        *(inventory.reserve_stock(room.account_id, [request], allow_backorders=False) for _ in range(10))
    )
    assert await level(room.account_id, room.warehouse_id, room.variants["A"]) == (10_000, 2_000, 0)
    assert await Reservation.filter(account_id=room.account_id, order_line_id=line).count() == 1


async def test_documents_naming_two_variants_in_opposite_order_never_deadlock(db, company):
    room = await stockroom(company)
    a, b = room.variants["A"], room.variants["B"]
    second = await add_warehouse(room.actor, "Second")
    await receive(room.actor, room.warehouse_id, {a: 1000, b: 1000})
    await receive(room.actor, second, {a: 1000, b: 1000})

    def lines(order: list[uuid.UUID]) -> list[DocumentLineSpec]:
        return [DocumentLineSpec(variant_id=v, quantity="1") for v in order]

    async def post(
        kind: str, source: uuid.UUID, order: list[uuid.UUID], target: uuid.UUID | None = None
    ) -> None:
        spec = DocumentSpec(
            kind=kind, warehouse_id=source, to_warehouse_id=target, lines=lines(order), reason="damaged"
        )
        await inventory.post_document(room.actor, spec)

    async def reserve(order: list[uuid.UUID]) -> None:
        requests = [ReservationRequest(uuid.uuid4(), room.warehouse_id, v, 1000) for v in order]
        await inventory.reserve_stock(room.account_id, requests, allow_backorders=False)

    work = []
    for _ in range(15):
        work += [
            post("TRANSFER", room.warehouse_id, [a, b], second),
            post("TRANSFER", second, [b, a], room.warehouse_id),
            post("WRITE_OFF", room.warehouse_id, [b, a]),
            post("WRITE_OFF", second, [a, b]),
            reserve([a, b]),
            reserve([b, a]),
        ]
    results = await asyncio.gather(*work, return_exceptions=True)
    assert [r for r in results if r is not None] == []
    assert await level(room.account_id, room.warehouse_id, a) == (1000_000 - 15_000, 30_000, 0)
    assert await level(room.account_id, second, b) == (1000_000 - 15_000, 0, 0)
    await assert_invariants(room.account_id)


async def test_random_concurrent_stock_work_keeps_levels_equal_to_the_ledger(db, company):
    room = await stockroom(company, skus=("A", "B", "C"))
    variants = list(room.variants.values())
    warehouses = [
        room.warehouse_id,
        await add_warehouse(room.actor, "Second"),
        await add_warehouse(room.actor, "Third"),
    ]
    rng = random.Random(20240611)
    lines_reserved: list[uuid.UUID] = []
    counts = {"ok": 0, "short": 0}

    async def task(seed: int) -> None:
        local = random.Random(seed)
        for _ in range(12):
            action = local.choice(
                ["receipt", "transfer", "write_off", "reserve", "release", "ship", "shipment"]
            )
            warehouse = local.choice(warehouses)
            chosen = local.sample(variants, local.randint(1, len(variants)))
            quantity = str(local.randint(1, 4))
            try:
                if action == "receipt":
                    await receive(
                        room.actor,
                        warehouse,
                        {v: quantity for v in chosen},
                        cost=f"{local.randint(1, 50)}.00",
                    )
                elif action in ("transfer", "write_off", "shipment"):
                    target = local.choice([w for w in warehouses if w != warehouse])
                    spec = DocumentSpec(
                        kind={"transfer": "TRANSFER", "write_off": "WRITE_OFF", "shipment": "SHIPMENT"}[
                            action
                        ],
                        warehouse_id=warehouse,
                        to_warehouse_id=target if action == "transfer" else None,
                        reason="random",
                        lines=[DocumentLineSpec(variant_id=v, quantity=quantity) for v in chosen],
                    )
                    await inventory.post_document(room.actor, spec)
                elif action == "reserve":
                    requests = [
                        ReservationRequest(uuid.uuid4(), warehouse, v, int(quantity) * 1000) for v in chosen
                    ]
                    await inventory.reserve_stock(room.account_id, requests, allow_backorders=False)
                    lines_reserved.extend(r.order_line_id for r in requests)
                elif action == "release" and lines_reserved:
                    await inventory.release_reservations(
                        room.account_id, local.sample(lines_reserved, 2 if len(lines_reserved) > 1 else 1)
                    )
                elif action == "ship" and lines_reserved:
                    picked = local.sample(lines_reserved, min(3, len(lines_reserved)))
                    await inventory.ship_reservations(
                        room.account_id, picked, user_id=None, reference="random"
                    )
                counts["ok"] += 1
            except InvalidInput as exc:
                assert {p.code for p in exc.problems} == {"INSUFFICIENT_STOCK"}, exc.problems
                counts["short"] += 1

    await asyncio.gather(*(task(rng.randint(0, 10**9)) for _ in range(16)))
    assert counts["ok"] > 50 and counts["short"] > 0, counts
    await assert_invariants(room.account_id)
