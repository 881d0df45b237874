"""The status workflow with the stock following it, the timeline, managers on shift and assignment."""

from __future__ import annotations

from models.inventory import StockMovement
from tests.test_inventory_helpers import assert_invariants
from tests.test_orders_helpers import (
    ASSIGN,
    COMMENT,
    SETTINGS,
    SHIFT,
    add_manager,
    open_shop,
    place_ok,
    set_status,
    store_token,
)

FORWARD = ["CONFIRMED", "PACKED", "SHIPPED", "DELIVERED", "COMPLETED"]


async def test_an_order_goes_through_the_workflow_and_its_stock_is_shipped(company):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 2), ("B", 1)])
    for status in FORWARD:
        payload = await set_status(shop, order["id"], status)
        assert payload["userErrors"] == [] and payload["order"]["status"] == status
        if status == "CONFIRMED":
            assert payload["order"]["confirmedAt"] is not None
    assert await shop.level("A") == (8_000, 0, 0)
    assert await shop.level("B") == (9_000, 0, 0)
    changes = [
        (e["fromStatus"], e["toStatus"]) for e in payload["order"]["events"] if e["type"] == "STATUS_CHANGED"
    ]
    assert changes == list(zip(["NEW", *FORWARD[:-1]], FORWARD, strict=True))
    assert all(e["actor"]["id"] == company.user_id for e in payload["order"]["events"])
    await assert_invariants(shop.account_id)


async def test_cancelling_releases_the_reservations(company):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 4)])
    await set_status(shop, order["id"], "CONFIRMED")
    payload = await set_status(shop, order["id"], "CANCELLED")
    assert payload["order"]["status"] == "CANCELLED"
    assert await shop.level("A") == (10_000, 0, 0)
    await assert_invariants(shop.account_id)


async def test_returning_a_shipped_order_brings_the_stock_back_with_a_return_movement(company):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 3)])
    for status in ("CONFIRMED", "PACKED", "SHIPPED", "DELIVERED"):
        await set_status(shop, order["id"], status)
    assert await shop.level("A") == (7_000, 0, 0)
    payload = await set_status(shop, order["id"], "RETURNED")
    assert payload["order"]["status"] == "RETURNED"
    assert await shop.level("A") == (10_000, 0, 0)
    kinds = await StockMovement.filter(account_id=shop.account_id, variant_id=shop.variants["A"]).values_list(
        "document__kind", "quantity_milli"
    )
    assert sorted(kinds) == sorted([("RECEIPT", 10_000), ("SHIPMENT", -3_000), ("RETURN", 3_000)])
    await assert_invariants(shop.account_id)


async def test_an_illegal_transition_is_a_clear_error_and_changes_nothing(company):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 1)])
    payload = await set_status(shop, order["id"], "SHIPPED")
    assert payload["order"] is None
    error = payload["userErrors"][0]
    assert error["code"] == "ILLEGAL_TRANSITION" and error["field"] == ["status"]
    assert "NEW" in error["message"] and "CONFIRMED or CANCELLED" in error["message"]
    current = await shop.api.ok(
        "query($id: ID!) { order(id: $id) { status events { type } } }", {"id": order["id"]}
    )
    assert current["order"] == {"status": "NEW", "events": [{"type": "CREATED"}]}
    assert await shop.level("A") == (10_000, 1_000, 0)


async def test_cancelling_a_shipped_order_is_refused(company):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 1)])
    for status in ("CONFIRMED", "PACKED", "SHIPPED"):
        await set_status(shop, order["id"], status)
    payload = await set_status(shop, order["id"], "CANCELLED")
    assert payload["userErrors"][0]["code"] == "ILLEGAL_TRANSITION"
    assert "SHIPPED" in payload["userErrors"][0]["message"]
    assert await shop.level("A") == (9_000, 0, 0)
    await assert_invariants(shop.account_id)


async def test_repeating_a_transition_does_nothing_twice(company):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 2)])
    for status in ("CONFIRMED", "PACKED", "SHIPPED", "SHIPPED"):
        payload = await set_status(shop, order["id"], status)
        assert payload["userErrors"] == []
    changes = [e for e in payload["order"]["events"] if e["type"] == "STATUS_CHANGED"]
    assert len(changes) == 3
    assert await shop.level("A") == (8_000, 0, 0)
    cancelled = await place_ok(shop, [("A", 1)])
    await set_status(shop, cancelled["id"], "CANCELLED")
    again = await set_status(shop, cancelled["id"], "CANCELLED")
    assert again["userErrors"] == []
    assert await shop.level("A") == (8_000, 0, 0)
    await assert_invariants(shop.account_id)


async def test_a_comment_is_an_event_with_its_author(company):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 1)])
    payload = await shop.api.mutate(
        "addOrderComment", COMMENT, {"input": {"orderId": order["id"], "text": "call first"}}
    )
    assert payload["order"]["events"][-1] == {
        "type": "COMMENTED",
        "comment": "call first",
        "actor": {"id": company.user_id},
    }
    empty = await shop.api.ok(COMMENT, {"input": {"orderId": order["id"], "text": "  "}})
    assert empty["addOrderComment"]["userErrors"][0]["code"] == "REQUIRED"


async def test_round_robin_gives_orders_to_managers_on_shift_in_turn(company):
    shop = await open_shop(company, {"C": 10})
    managers = [(await add_manager(shop, f"rr{i}"))[1] for i in range(3)]
    _, off_shift = await add_manager(shop, "off", on_shift=False)
    got = [(await place_ok(shop, [("C", 1)]))["manager"]["id"] for _ in range(6)]
    assert off_shift not in got
    assert got[:3] == sorted(managers) and got[3:] == got[:3]


async def test_least_loaded_gives_the_order_to_the_manager_with_fewest_unconfirmed_orders(company):
    shop = await open_shop(company, {"C": 10})
    await shop.api.mutate("updateOrderSettings", SETTINGS, {"input": {"assignmentStrategy": "LEAST_LOADED"}})
    first_api, first = await add_manager(shop, "ll1")
    _, second = await add_manager(shop, "ll2")
    orders = [await place_ok(shop, [("C", 1)]) for _ in range(2)]
    assert {o["manager"]["id"] for o in orders} == {first, second}
    # The first manager confirms theirs: they now have fewer unconfirmed orders.
    mine = next(o for o in orders if o["manager"]["id"] == first)
    assert (await set_status(shop, mine["id"], "CONFIRMED", api=first_api))["userErrors"] == []
    assert (await place_ok(shop, [("C", 1)]))["manager"]["id"] == first
    assert (await place_ok(shop, [("C", 1)]))["manager"]["id"] == second


async def test_manual_assignment_leaves_new_orders_unassigned_until_assign_order(company):
    shop = await open_shop(company)
    settings = await shop.api.mutate(
        "updateOrderSettings", SETTINGS, {"input": {"assignmentStrategy": "MANUAL"}}
    )
    assert settings["settings"] == {"confirmationMinutes": 5, "assignmentStrategy": "MANUAL"}
    _, manager = await add_manager(shop, "man")
    order = await place_ok(shop, [("A", 1)])
    assert order["manager"] is None
    assigned = await shop.api.mutate(
        "assignOrder", ASSIGN, {"input": {"orderId": order["id"], "managerId": manager}}
    )
    assert assigned["order"]["manager"]["id"] == manager
    again = await shop.api.mutate(
        "assignOrder", ASSIGN, {"input": {"orderId": order["id"], "managerId": manager}}
    )
    assert [e["type"] for e in again["order"]["events"]] == ["CREATED", "ASSIGNED"]


async def test_assign_order_reassigns_and_refuses_people_who_are_not_managers(company):
    shop = await open_shop(company)
    _, first = await add_manager(shop, "a1")
    _, second = await add_manager(shop, "a2", on_shift=False)
    order = await place_ok(shop, [("A", 1)])
    assert order["manager"]["id"] == first
    moved = await shop.api.mutate(
        "assignOrder", ASSIGN, {"input": {"orderId": order["id"], "managerId": second}}
    )
    assert moved["order"]["manager"]["id"] == second
    assert [e["manager"]["id"] for e in moved["order"]["events"] if e["type"] == "ASSIGNED"] == [
        first,
        second,
    ]
    from tests.test_accounts import add_user

    viewer = await add_user(shop.company, "VIEWER")
    viewer_id = (await viewer.ok("{ me { id } }"))["me"]["id"]
    refused = await shop.api.ok(ASSIGN, {"input": {"orderId": order["id"], "managerId": viewer_id}})
    assert refused["assignOrder"]["userErrors"][0]["code"] == "NOT_A_MANAGER"


async def test_shifts_are_set_by_the_manager_or_by_who_manages_users(company):
    shop = await open_shop(company)
    manager_api, manager = await add_manager(shop, "s1", on_shift=False)
    _, colleague = await add_manager(shop, "s2", on_shift=False)
    body = await manager_api.raw(SHIFT, {"input": {"userId": colleague, "onShift": True}})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await shop.api.mutate("setManagerShift", SHIFT, {"input": {"userId": colleague, "onShift": True}})
    order = await place_ok(shop, [("A", 1)])
    assert order["manager"]["id"] == colleague
    owner_shift = await shop.api.ok(SHIFT, {"input": {"onShift": True}})
    assert owner_shift["setManagerShift"]["userErrors"][0]["code"] == "NOT_A_MANAGER"
    store = await store_token(shop)
    body = await store.raw(SHIFT, {"input": {"onShift": True}})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert manager != colleague


async def test_order_settings_are_checked(company):
    shop = await open_shop(company)
    bad = await shop.api.ok(SETTINGS, {"input": {"confirmationMinutes": 0}})
    assert bad["updateOrderSettings"]["userErrors"][0]["code"] == "OUT_OF_RANGE"
    manager_api, _ = await add_manager(shop, "set")
    body = await manager_api.raw(SETTINGS, {"input": {"confirmationMinutes": 10}})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    read = await manager_api.ok("{ orderSettings { confirmationMinutes assignmentStrategy } }")
    assert read["orderSettings"] == {"confirmationMinutes": 5, "assignmentStrategy": "ROUND_ROBIN"}
