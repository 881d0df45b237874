"""The reservation service API the orders domain calls: reserve, release, ship, return, free stock."""

from __future__ import annotations

import uuid

import pytest

from models.accounts import Account
from models.inventory import Reservation, StockDocument, StockMovement
from services import inventory
from services.db import transaction
from services.errors import InvalidInput
from services.inventory import ReservationRequest
from tests.test_inventory_helpers import (
    add_variants,
    add_warehouse,
    assert_invariants,
    level,
    owner,
    receive,
    snapshot,
    stockroom,
)


def req(
    room, sku: str, quantity: int, *, line=None, warehouse=None, field=("lines", "0")
) -> ReservationRequest:
    return ReservationRequest(
        order_line_id=line or uuid.uuid4(),
        warehouse_id=warehouse or room.warehouse_id,
        variant_id=room.variants[sku],
        quantity_milli=quantity * 1000,
        field=tuple(field),
    )


async def test_reserving_within_free_stock_raises_reserved_and_leaves_on_hand(company):
    room = await stockroom(company)
    await receive(room.actor, room.warehouse_id, {room.variants["A"]: 10})
    await inventory.reserve_stock(room.account_id, [req(room, "A", 4)], allow_backorders=False)
    assert await level(room.account_id, room.warehouse_id, room.variants["A"]) == (10_000, 4_000, 0)
    free = await inventory.free_stock(room.account_id, [(room.warehouse_id, room.variants["A"])])
    assert free == {(room.warehouse_id, room.variants["A"]): 6_000}
    await assert_invariants(room.account_id)


async def test_reserving_more_than_free_stock_fails_per_short_line_and_changes_nothing(company):
    room = await stockroom(company)
    await receive(room.actor, room.warehouse_id, {room.variants["A"]: 5, room.variants["B"]: 1})
    before = await snapshot(room.account_id)
    requests = [
        req(room, "A", 3, field=("lines", "0")),
        req(room, "B", 2, field=("lines", "1")),  # short on its own
        req(room, "A", 3, field=("lines", "2")),  # short together with line 0
    ]
    with pytest.raises(InvalidInput) as caught:
        await inventory.reserve_stock(room.account_id, requests, allow_backorders=False)
    problems = caught.value.problems
    assert {p.field for p in problems} == {("lines", "0"), ("lines", "1"), ("lines", "2")}
    assert {p.code for p in problems} == {"INSUFFICIENT_STOCK"}
    b_problem = next(p for p in problems if p.field == ("lines", "1"))
    assert "B" in b_problem.message and "2 wanted" in b_problem.message and "1 free" in b_problem.message
    a_problem = next(p for p in problems if p.field == ("lines", "0"))
    assert "6 wanted" in a_problem.message and "5 free" in a_problem.message
    assert await snapshot(room.account_id) == before


async def test_reserving_the_same_line_twice_reserves_once(company):
    room = await stockroom(company)
    await receive(room.actor, room.warehouse_id, {room.variants["A"]: 10})
    line = uuid.uuid4()
    await inventory.reserve_stock(room.account_id, [req(room, "A", 3, line=line)], allow_backorders=False)
    await inventory.reserve_stock(room.account_id, [req(room, "A", 3, line=line)], allow_backorders=False)
    assert await level(room.account_id, room.warehouse_id, room.variants["A"]) == (10_000, 3_000, 0)
    assert await Reservation.filter(account_id=room.account_id, order_line_id=line).count() == 1
    await assert_invariants(room.account_id)


async def test_a_released_line_frees_its_stock_and_can_be_reserved_again(company):
    room = await stockroom(company)
    await receive(room.actor, room.warehouse_id, {room.variants["A"]: 10})
    line = uuid.uuid4()
    await inventory.reserve_stock(room.account_id, [req(room, "A", 3, line=line)], allow_backorders=False)
    await inventory.release_reservations(room.account_id, [line])
    await inventory.release_reservations(room.account_id, [line])  # idempotent
    assert await level(room.account_id, room.warehouse_id, room.variants["A"]) == (10_000, 0, 0)
    await inventory.reserve_stock(room.account_id, [req(room, "A", 2, line=line)], allow_backorders=False)
    assert await level(room.account_id, room.warehouse_id, room.variants["A"]) == (10_000, 2_000, 0)
    await assert_invariants(room.account_id)


async def test_shipping_a_reservation_lowers_on_hand_and_reserved_and_records_the_cost(company):
    room = await stockroom(company)
    await receive(room.actor, room.warehouse_id, {room.variants["A"]: 10}, cost="12.50")
    line = uuid.uuid4()
    await inventory.reserve_stock(room.account_id, [req(room, "A", 4, line=line)], allow_backorders=False)
    await inventory.ship_reservations(room.account_id, [line], user_id=None, reference="order 17")
    await inventory.ship_reservations(
        room.account_id, [line], user_id=None, reference="order 17"
    )  # idempotent
    assert await level(room.account_id, room.warehouse_id, room.variants["A"]) == (6_000, 0, 0)
    shipment = await StockDocument.get(account_id=room.account_id, kind="SHIPMENT")
    assert shipment.reference == "order 17"
    movement = await StockMovement.get(account_id=room.account_id, document_id=shipment.id)
    assert (movement.quantity_milli, movement.unit_cost_minor) == (-4_000, 1250)
    reservation = await Reservation.get(account_id=room.account_id, order_line_id=line)
    assert (reservation.status, reservation.shipment_id) == ("SHIPPED", shipment.id)
    # A shipped line is not reserved again by a retried call.
    await inventory.reserve_stock(room.account_id, [req(room, "A", 4, line=line)], allow_backorders=False)
    assert await level(room.account_id, room.warehouse_id, room.variants["A"]) == (6_000, 0, 0)
    await assert_invariants(room.account_id)


async def test_returning_goods_posts_a_return_document_at_the_average_cost(company):
    room = await stockroom(company)
    await receive(room.actor, room.warehouse_id, {room.variants["A"]: 2}, cost="3.00")
    await inventory.return_to_stock(room.account_id, [req(room, "A", 1)], user_id=None, reference="order 9")
    assert await level(room.account_id, room.warehouse_id, room.variants["A"]) == (3_000, 0, 0)
    document = await StockDocument.get(account_id=room.account_id, kind="RETURN")
    movement = await StockMovement.get(document_id=document.id)
    assert (movement.quantity_milli, movement.unit_cost_minor, document.reference) == (1_000, 300, "order 9")
    await assert_invariants(room.account_id)


async def test_backorders_let_reserved_go_past_on_hand_even_where_nothing_was_kept(company):
    room = await stockroom(company)
    other = await add_warehouse(room.actor, "Empty")
    await inventory.reserve_stock(
        room.account_id, [req(room, "A", 2, warehouse=other)], allow_backorders=True
    )
    assert await level(room.account_id, other, room.variants["A"]) == (0, 2_000, 0)
    free = await inventory.free_stock(room.account_id, [(other, room.variants["A"])])
    assert free == {(other, room.variants["A"]): -2_000}
    await assert_invariants(room.account_id, backorders=True)


async def test_reserving_in_another_accounts_warehouse_or_variant_is_not_found(company, other_company):
    room = await stockroom(company)
    foreign = await stockroom(other_company)
    await receive(foreign.actor, foreign.warehouse_id, {foreign.variants["A"]: 5})
    before = await snapshot(room.account_id)
    foreign_before = await snapshot(foreign.account_id)
    for request in (
        req(room, "A", 1, warehouse=foreign.warehouse_id),
        ReservationRequest(uuid.uuid4(), room.warehouse_id, foreign.variants["A"], 1000, ("lines", "0")),
        ReservationRequest(uuid.uuid4(), foreign.warehouse_id, foreign.variants["A"], 1000, ("lines", "0")),
    ):
        for backorders in (False, True):
            with pytest.raises(InvalidInput) as caught:
                await inventory.reserve_stock(room.account_id, [request], allow_backorders=backorders)
            assert [(p.code, p.field) for p in caught.value.problems] == [("NOT_FOUND", ("lines", "0"))]
    assert await snapshot(room.account_id) == before
    assert await snapshot(foreign.account_id) == foreign_before


async def test_zero_or_negative_reservations_are_refused(company):
    room = await stockroom(company)
    await receive(room.actor, room.warehouse_id, {room.variants["A"]: 5})
    before = await snapshot(room.account_id)
    for quantity in (0, -1000):
        request = ReservationRequest(uuid.uuid4(), room.warehouse_id, room.variants["A"], quantity, ("q",))
        with pytest.raises(InvalidInput) as caught:
            await inventory.reserve_stock(room.account_id, [request], allow_backorders=False)
        assert caught.value.problems[0].code == "INVALID_QUANTITY"
    assert await snapshot(room.account_id) == before


async def test_a_short_reservation_inside_the_callers_transaction_rolls_back_only_its_savepoint(company):
    room = await stockroom(company)
    await receive(room.actor, room.warehouse_id, {room.variants["A"]: 1})
    before = await snapshot(room.account_id)
    async with transaction():
        await Account.filter(id=room.account_id).update(name="renamed in the caller's transaction")
        with pytest.raises(InvalidInput):
            await inventory.reserve_stock(room.account_id, [req(room, "A", 2)], allow_backorders=False)
        await inventory.reserve_stock(room.account_id, [req(room, "A", 1)], allow_backorders=False)
    assert (await Account.get(id=room.account_id)).name == "renamed in the caller's transaction"
    after = await snapshot(room.account_id)
    assert after["levels"] != before["levels"]
    assert await level(room.account_id, room.warehouse_id, room.variants["A"]) == (1_000, 1_000, 0)
    await assert_invariants(room.account_id)


async def test_a_reservation_in_a_rolled_back_caller_transaction_leaves_no_trace(company):
    room = await stockroom(company)
    await receive(room.actor, room.warehouse_id, {room.variants["A"]: 3})
    before = await snapshot(room.account_id)
    with pytest.raises(RuntimeError):
        async with transaction():
            await inventory.reserve_stock(room.account_id, [req(room, "A", 2)], allow_backorders=False)
            raise RuntimeError("the order failed later")
    assert await snapshot(room.account_id) == before


async def test_weight_goods_reserve_in_thousandths(company):
    actor = owner(company)
    variants = await add_variants(actor, ["FLOUR"], unit="KG")
    warehouse = await add_warehouse(actor, "Bulk")
    await receive(actor, warehouse, {variants["FLOUR"]: "2.5"}, cost="1.00")
    request = ReservationRequest(uuid.uuid4(), warehouse, variants["FLOUR"], 2_501, ("q",))
    with pytest.raises(InvalidInput) as caught:
        await inventory.reserve_stock(actor.account_id, [request], allow_backorders=False)
    assert (
        "2.501 wanted" in caught.value.problems[0].message
        and "2.500 free" in caught.value.problems[0].message
    )
    await inventory.reserve_stock(
        actor.account_id,
        [ReservationRequest(uuid.uuid4(), warehouse, variants["FLOUR"], 2_500, ("q",))],
        allow_backorders=False,
    )
    assert await level(actor.account_id, warehouse, variants["FLOUR"]) == (2_500, 2_500, 0)
