"""Placing orders: channels, customers by id or contact, lines by variant or sku, prices, stock,
idempotency."""

from __future__ import annotations

from models.customers import Customer
from models.inventory import Reservation
from tests.test_orders_helpers import (
    CREATE_CHANNEL,
    add_manager,
    open_shop,
    order_rows,
    place,
    place_ok,
    store_token,
)


async def test_a_sales_channel_has_a_kind_a_warehouse_and_a_price_type(company):
    shop = await open_shop(company)
    channels = (await company.api.ok("{ salesChannels { id name kind warehouseId priceType { code } } }"))[
        "salesChannels"
    ]
    assert channels == [
        {
            "id": shop.channel_id,
            "name": "Web",
            "kind": "WEB_STORE",
            "warehouseId": str(shop.warehouse_id),
            "priceType": {"code": "RETAIL"},
        }
    ]
    again = await company.api.ok(
        CREATE_CHANNEL,
        {"input": {"name": "Web", "kind": "MARKETPLACE", "warehouseId": str(shop.warehouse_id)}},
    )
    assert again["createSalesChannel"]["userErrors"][0]["code"] == "DUPLICATE"
    unknown = await company.api.ok(
        CREATE_CHANNEL,
        {
            "input": {
                "name": "Phone",
                "kind": "PHONE",
                "warehouseId": str(shop.warehouse_id),
                "priceType": "NOPE",
            }
        },
    )
    assert unknown["createSalesChannel"]["userErrors"][0]["code"] == "UNKNOWN_PRICE_TYPE"


async def test_a_manager_places_an_order_priced_from_the_channel_and_its_stock_is_reserved(company):
    shop = await open_shop(company)
    order = await place_ok(
        shop,
        [("A", 2), ("B", 1)],
        delivery={"method": "COURIER", "address": "1 Main St"},
        comment="ring twice",
    )
    assert order["number"] == 1
    assert order["status"] == "NEW" and order["paymentStatus"] == "UNPAID"
    assert [
        (line["variant"]["sku"], line["quantity"], line["price"], line["total"]) for line in order["lines"]
    ] == [
        ("A", "2", "100.00", "200.00"),
        ("B", "1", "250.50", "250.50"),
    ]
    assert order["total"] == "450.50" and order["due"] == "450.50"
    assert order["delivery"] == {"method": "COURIER", "address": "1 Main St"}
    assert order["comment"] == "ring twice"
    assert order["channel"]["id"] == shop.channel_id
    assert [e["type"] for e in order["events"]] == ["CREATED"]
    assert order["events"][0]["actor"]["id"] == company.user_id
    assert await shop.level("A") == (10_000, 2_000, 0)
    assert await shop.level("B") == (10_000, 1_000, 0)


async def test_a_store_token_with_orders_write_places_orders_and_one_without_cannot(company):
    shop = await open_shop(company)
    store = await store_token(shop)
    order = await place_ok(shop, [("A", 1)], api=store, external_id="web-1")
    assert order["externalId"] == "web-1"
    reader = await store_token(shop, ["ORDERS_READ", "CATALOG_READ"])
    body = await reader.raw(
        "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { userErrors { code } } }",
        {"input": {"channelId": shop.channel_id, "lines": [{"sku": "A", "quantity": "1"}]}},
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert len(await order_rows(shop)) == 1


async def test_given_prices_and_variant_ids_are_used_as_given(company):
    shop = await open_shop(company)
    order = await place_ok(
        shop,
        raw_lines=[
            {"variantId": str(shop.variants["A"]), "quantity": "3", "price": "90.00"},
            {"sku": "KG", "quantity": "0.255", "price": "80.00"},
        ],
    )
    assert [(line["quantity"], line["price"], line["total"]) for line in order["lines"]] == [
        ("3", "90.00", "270.00"),
        ("0.255", "80.00", "20.40"),
    ]
    assert order["total"] == "290.40"
    assert await shop.level("KG") == (5_000, 255, 0)


async def test_the_customer_is_found_by_normalised_email_or_phone_else_created(company):
    shop = await open_shop(company)
    first = await place_ok(
        shop, customer={"name": "Bob", "email": "Bob@Example.com", "phone": "+7 (900) 123-45-67"}
    )
    customer = first["customer"]
    assert customer["name"] == "Bob"
    assert customer["emails"] == ["bob@example.com"] and customer["phones"] == ["+79001234567"]
    by_email = await place_ok(shop, customer={"email": " BOB@example.com "})
    by_phone = await place_ok(shop, customer={"phone": "+79001234567"})
    by_id = await place_ok(shop, customer={"id": customer["id"]})
    assert {by_email["customer"]["id"], by_phone["customer"]["id"], by_id["customer"]["id"]} == {
        customer["id"]
    }
    other = await place_ok(shop, customer={"phone": "8 900 000 00 00"})
    assert other["customer"]["id"] != customer["id"] and other["customer"]["name"] == "89000000000"
    assert await Customer.filter(account_id=shop.account_id).count() == 2


async def test_the_same_external_id_returns_the_first_order_unchanged(company):
    shop = await open_shop(company)
    first = await place_ok(shop, [("A", 2)], external_id="ext-1")
    again = await place_ok(shop, [("A", 2)], external_id="ext-1")
    assert again["id"] == first["id"] and again["number"] == first["number"]
    assert await shop.level("A") == (10_000, 2_000, 0)
    assert len(await order_rows(shop)) == 1


async def test_the_same_external_id_with_different_content_is_an_error_and_the_first_order_stays(company):
    shop = await open_shop(company)
    first = await place_ok(shop, [("A", 2)], external_id="ext-1")
    before = await order_rows(shop)
    changed = await place(shop, [("A", 3)], external_id="ext-1")
    assert changed["order"] is None
    assert changed["userErrors"][0]["code"] == "EXTERNAL_ID_REUSED"
    assert changed["userErrors"][0]["field"] == ["externalId"]
    assert await order_rows(shop) == before
    assert await shop.level("A") == (10_000, 2_000, 0)
    # Another channel may use the same id for its own order.
    other = await company.api.mutate(
        "createSalesChannel",
        CREATE_CHANNEL,
        {"input": {"name": "Market", "kind": "MARKETPLACE", "warehouseId": str(shop.warehouse_id)}},
    )
    shop.channel_id = other["salesChannel"]["id"]
    second = await place_ok(shop, [("A", 3)], external_id="ext-1")
    assert second["id"] != first["id"] and second["number"] == 2


async def test_a_short_line_fails_the_whole_order_naming_the_line_and_changes_nothing(company):
    shop = await open_shop(company, {"A": 5, "B": 1})
    payload = await place(shop, [("A", 1), ("B", 2)])
    assert payload["order"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["lines", "1", "quantity"], "INSUFFICIENT_STOCK")
    ]
    assert "B" in payload["userErrors"][0]["message"]
    assert await order_rows(shop) == []
    assert await shop.level("A") == (5_000, 0, 0)
    assert await Reservation.filter(account_id=shop.account_id).count() == 0
    # The number was not used up: the next order is still number 1.
    assert (await place_ok(shop, [("A", 1)]))["number"] == 1


async def test_several_lines_of_one_variant_are_checked_together(company):
    shop = await open_shop(company, {"A": 5})
    payload = await place(shop, [("A", 3), ("A", 3)])
    assert {e["code"] for e in payload["userErrors"]} == {"INSUFFICIENT_STOCK"}
    assert {tuple(e["field"]) for e in payload["userErrors"]} == {
        ("lines", "0", "quantity"),
        ("lines", "1", "quantity"),
    }
    assert await shop.level("A") == (5_000, 0, 0)
    order = await place_ok(shop, [("A", 3), ("A", 2)])
    assert len(order["lines"]) == 2
    assert await shop.level("A") == (5_000, 5_000, 0)


async def test_with_backorders_allowed_an_order_may_reserve_more_than_there_is(company):
    shop = await open_shop(company, {"A": 1})
    from models.accounts import Account

    await Account.filter(id=shop.account_id).update(allow_backorders=True)
    order = await place_ok(shop, [("A", 3)])
    assert order["number"] == 1
    assert await shop.level("A") == (1_000, 3_000, 0)


async def test_order_numbers_run_on_per_account(company, other_company):
    shop = await open_shop(company)
    other = await open_shop(other_company)
    numbers = [(await place_ok(shop, [("C", 1)]))["number"] for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert (await place_ok(other, [("C", 1)]))["number"] == 1


async def test_a_new_order_goes_to_a_manager_on_shift_with_an_assigned_event(company):
    shop = await open_shop(company)
    _, manager_id = await add_manager(shop, "m1")
    order = await place_ok(shop, [("A", 1)])
    assert order["manager"]["id"] == manager_id
    assert [(e["type"], (e["manager"] or {}).get("id")) for e in order["events"]] == [
        ("CREATED", None),
        ("ASSIGNED", manager_id),
    ]
