"""Orders placed and changed at the same moment: idempotency, gapless numbers, fair round robin, no oversell.

PostgreSQL only: SQLite runs one transaction at a time, so these would prove nothing there.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from models.inventory import Reservation
from tests.test_inventory_helpers import assert_invariants
from tests.test_orders_helpers import (
    PAY,
    add_manager,
    open_shop,
    order_events,
    order_rows,
    place,
    place_ok,
    set_status,
    store_token,
)

pytestmark = pytest.mark.postgres_only


async def test_racing_requests_with_one_external_id_make_one_order(db, company):
    shop = await open_shop(company)
    store = await store_token(shop)
    results = await asyncio.gather(
        *(place(shop, [("A", 2)], api=store, external_id="race-1") for _ in range(12))
    )
    assert all(r["userErrors"] == [] for r in results), results
    assert len({r["order"]["id"] for r in results}) == 1
    assert len(await order_rows(shop)) == 1
    assert await shop.level("A") == (10_000, 2_000, 0)
    assert len(await order_events(shop, "CREATED")) == 1
    await assert_invariants(shop.account_id)


async def test_racing_requests_with_one_external_id_and_different_content_keep_the_first(db, company):
    shop = await open_shop(company)
    results = await asyncio.gather(
        *(place(shop, [("A", 1 + i % 2)], external_id="race-2") for i in range(10))
    )
    placed = [r for r in results if r["order"]]
    refused = [r for r in results if not r["order"]]
    rows = await order_rows(shop)
    assert len(rows) == 1
    assert {r["order"]["id"] for r in placed} == {str(rows[0]["id"])}
    assert refused and all(r["userErrors"][0]["code"] == "EXTERNAL_ID_REUSED" for r in refused)
    quantity = placed[0]["order"]["lines"][0]["quantity"]
    assert all(r["order"]["lines"][0]["quantity"] == quantity for r in placed)
    assert await shop.level("A") == (10_000, int(quantity) * 1000, 0)


async def test_order_numbers_have_no_gaps_when_placed_at_once_even_when_some_fail(db, company):
    shop = await open_shop(company, {"A": 15, "C": 100})
    # 30 orders of one A against 15 in stock: half fail, after their numbers would have been taken.
    results = await asyncio.gather(*(place(shop, [("C", 1), ("A", 1)]) for _ in range(30)))
    ok = [r["order"]["number"] for r in results if r["order"]]
    assert len(ok) == 15
    assert sorted(ok) == list(range(1, 16))
    assert [r["userErrors"][0]["code"] for r in results if not r["order"]] == ["INSUFFICIENT_STOCK"] * 15
    assert [row["number"] for row in await order_rows(shop)] == list(range(1, 16))
    more = await asyncio.gather(*(place_ok(shop, [("C", 1)]) for _ in range(10)))
    assert sorted(o["number"] for o in more) == list(range(16, 26))
    await assert_invariants(shop.account_id)


async def test_no_oversell_when_many_orders_race_for_the_last_units(db, company):
    shop = await open_shop(company, {"B": 20})
    results = await asyncio.gather(*(place(shop, [("B", 1)]) for _ in range(50)))
    assert sum(1 for r in results if r["order"]) == 20
    assert await shop.level("B") == (20_000, 20_000, 0)
    assert await Reservation.filter(account_id=shop.account_id, status="OPEN").count() == 20
    await assert_invariants(shop.account_id)


async def test_round_robin_stays_fair_when_orders_are_placed_at_once(db, company):
    shop = await open_shop(company, {"C": 100})
    managers = [(await add_manager(shop, f"fair{i}"))[1] for i in range(3)]
    orders = await asyncio.gather(*(place_ok(shop, [("C", 1)]) for _ in range(30)))
    counts = Counter(o["manager"]["id"] for o in orders)
    assert counts == {m: 10 for m in managers}
    # In number order the managers take turns.
    by_number = [o["manager"]["id"] for o in sorted(orders, key=lambda o: o["number"])]
    assert by_number[:3] == sorted(managers) and by_number[3:6] == by_number[:3]


async def test_racing_status_changes_ship_the_stock_once(db, company):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 3)])
    for status in ("CONFIRMED", "PACKED"):
        await set_status(shop, order["id"], status)
    results = await asyncio.gather(*(set_status(shop, order["id"], "SHIPPED") for _ in range(8)))
    assert all(r["userErrors"] == [] for r in results)
    assert await shop.level("A") == (7_000, 0, 0)
    changes = [e for e in await order_events(shop, "STATUS_CHANGED") if e.payload["to_status"] == "SHIPPED"]
    assert len(changes) == 1
    await assert_invariants(shop.account_id)


async def test_racing_payments_never_overpay(db, company):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 1)])  # 100.00

    async def pay() -> dict:
        body = await shop.api.ok(
            PAY, {"input": {"orderId": order["id"], "amount": "30.00", "method": "CARD"}}
        )
        return body["registerPayment"]

    results = await asyncio.gather(*(pay() for _ in range(8)))
    assert sum(1 for r in results if r["payment"]) == 3
    assert {r["userErrors"][0]["code"] for r in results if not r["payment"]} == {"OVERPAYMENT"}
    rows = await order_rows(shop)
    assert rows[0]["paid_minor"] == 9000 and rows[0]["payment_status"] == "PARTIALLY_PAID"
