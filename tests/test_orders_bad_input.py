"""Bad input to the order mutations: each gets a clear error and changes nothing."""

from __future__ import annotations

import uuid

import pytest

from models.customers import Customer
from models.events import Event
from models.inventory import Reservation, StockLevel
from models.orders import Order, OrderLine, Payment
from tests.test_orders_helpers import (
    ASSIGN,
    COMMENT,
    PAY,
    REFUND,
    SET_STATUS,
    Shop,
    open_shop,
    order_input,
    place,
    place_ok,
    set_status,
)


async def state(shop: Shop) -> dict:
    """Everything an order mutation may change in the shop's account."""
    account_id = shop.account_id
    return {
        "orders": await Order.filter(account_id=account_id).order_by("id").values(),
        "lines": await OrderLine.filter(account_id=account_id).order_by("id").values(),
        "payments": await Payment.filter(account_id=account_id).order_by("id").values(),
        "events": await Event.filter(account_id=account_id).order_by("position").values_list("id", flat=True),
        "customers": await Customer.filter(account_id=account_id).count(),
        "reservations": await Reservation.filter(account_id=account_id).order_by("id").values(),
        "levels": await StockLevel.filter(account_id=account_id).order_by("id").values(),
    }


def codes(payload: dict) -> list[tuple[list[str] | None, str]]:
    assert payload["order"] is None
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


@pytest.mark.parametrize(
    ("quantity", "code"),
    [("0", "ZERO"), ("-1", "NEGATIVE"), ("1.5", "TOO_MANY_DECIMALS")],
)
async def test_a_bad_quantity_for_pieces_is_refused(company, quantity, code):
    shop = await open_shop(company)
    before = await state(shop)
    payload = await place(shop, [("A", 1), ("B", quantity)])
    assert codes(payload) == [(["lines", "1", "quantity"], code)]
    assert await state(shop) == before


async def test_a_weight_may_have_thousandths_but_no_finer(company):
    shop = await open_shop(company)
    before = await state(shop)
    payload = await place(shop, [("KG", "0.0005")])
    assert codes(payload) == [(["lines", "0", "quantity"], "TOO_MANY_DECIMALS")]
    assert await state(shop) == before


async def test_a_negative_price_is_refused(company):
    shop = await open_shop(company)
    before = await state(shop)
    payload = await place(shop, raw_lines=[{"sku": "A", "quantity": "1", "price": "-0.01"}])
    assert codes(payload) == [(["lines", "0", "price"], "NEGATIVE")]
    assert await state(shop) == before


async def test_an_unknown_sku_or_variant_is_named(company):
    shop = await open_shop(company)
    before = await state(shop)
    payload = await place(
        shop,
        raw_lines=[
            {"sku": "A", "quantity": "1"},
            {"sku": "NOPE", "quantity": "1"},
            {"variantId": str(uuid.uuid4()), "quantity": "1"},
            {"variantId": "garbage", "quantity": "1"},
            {"quantity": "1"},
            {"sku": "A", "variantId": str(shop.variants["A"]), "quantity": "1"},
        ],
    )
    assert codes(payload) == [
        (["lines", "1", "sku"], "NOT_FOUND"),
        (["lines", "2", "variantId"], "NOT_FOUND"),
        (["lines", "3", "variantId"], "NOT_FOUND"),
        (["lines", "4"], "REQUIRED"),
        (["lines", "5"], "AMBIGUOUS"),
    ]
    assert "NOPE" in payload["userErrors"][0]["message"]
    assert await state(shop) == before


PLACE_BRIEF = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id } userErrors { field code } } }"""


async def test_an_unknown_channel_is_not_found(company):
    shop = await open_shop(company)
    before = await state(shop)
    for channel_id in (str(uuid.uuid4()), "not-an-id"):
        body = await shop.api.ok(
            PLACE_BRIEF,
            {"input": {**order_input(shop), "channelId": channel_id}},
        )
        assert body["placeOrder"]["userErrors"] == [{"field": ["channelId"], "code": "NOT_FOUND"}]
    assert await state(shop) == before


@pytest.mark.parametrize("customer", [{}, {"name": "Only a name"}, {"email": "  ", "phone": ""}])
async def test_an_order_without_any_customer_contact_is_refused(company, customer):
    shop = await open_shop(company)
    before = await state(shop)
    payload = await place(shop, customer=customer)
    assert codes(payload) == [(["customer"], "CUSTOMER_REQUIRED")]
    assert await state(shop) == before


async def test_an_order_with_no_customer_at_all_is_refused(company):
    shop = await open_shop(company)
    before = await state(shop)
    data = order_input(shop)
    del data["customer"]
    body = await shop.api.ok(
        PLACE_BRIEF,
        {"input": data},
    )
    assert body["placeOrder"]["userErrors"] == [{"field": ["customer"], "code": "CUSTOMER_REQUIRED"}]
    assert await state(shop) == before


async def test_bad_contact_details_are_named(company):
    shop = await open_shop(company)
    before = await state(shop)
    payload = await place(shop, customer={"email": "not-an-email", "phone": "12"})
    assert codes(payload) == [
        (["customer", "email"], "INVALID_EMAIL"),
        (["customer", "phone"], "INVALID_PHONE"),
    ]
    assert await state(shop) == before


async def test_an_order_of_ten_thousand_lines_meets_a_clear_limit(company):
    shop = await open_shop(company)
    before = await state(shop)
    payload = await place(shop, raw_lines=[{"sku": "A", "quantity": "1"}] * 10_000)
    assert codes(payload) == [(["lines"], "TOO_MANY_LINES")]
    assert "500" in payload["userErrors"][0]["message"]
    empty = await place(shop, raw_lines=[])
    assert codes(empty) == [(["lines"], "REQUIRED")]
    assert await state(shop) == before


async def test_a_status_that_does_not_exist_is_refused(company):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 1)])
    before = await state(shop)
    body = await shop.api.raw(SET_STATUS, {"input": {"orderId": order["id"], "status": "LOST"}})
    assert body.get("data") is None
    assert "LOST" in body["errors"][0]["message"] and "OrderStatus" in body["errors"][0]["message"]
    unknown = await shop.api.raw(
        "query($s: [OrderStatus!]) { orders(filter: {statuses: $s}) { totalCount } }", {"s": ["LOST"]}
    )
    assert unknown.get("data") is None and "LOST" in unknown["errors"][0]["message"]
    assert await state(shop) == before


async def test_cancelling_a_shipped_order_is_a_clear_error(company):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 1)])
    for status in ("CONFIRMED", "PACKED", "SHIPPED"):
        await set_status(shop, order["id"], status)
    before = await state(shop)
    payload = await set_status(shop, order["id"], "CANCELLED")
    assert payload["userErrors"] == [
        {
            "field": ["status"],
            "code": "ILLEGAL_TRANSITION",
            "message": "order 1 is SHIPPED and cannot become CANCELLED: it can become DELIVERED or RETURNED",
        }
    ]
    assert await state(shop) == before


async def test_another_accounts_order_is_not_found_in_every_order_mutation(company, other_company):
    shop = await open_shop(company)
    stranger = await open_shop(other_company)
    order = await place_ok(shop, [("A", 1)])
    payment = (
        await shop.api.ok(PAY, {"input": {"orderId": order["id"], "amount": "10.00", "method": "CASH"}})
    )["registerPayment"]["payment"]
    manager = order["manager"]["id"] if order["manager"] else shop.company.user_id
    before = await state(shop)
    calls = [
        ("setOrderStatus", SET_STATUS, {"orderId": order["id"], "status": "CONFIRMED"}),
        ("setOrderStatus", SET_STATUS, {"orderId": order["id"], "status": "CANCELLED"}),
        ("assignOrder", ASSIGN, {"orderId": order["id"], "managerId": stranger.company.user_id}),
        ("assignOrder", ASSIGN, {"orderId": order["id"], "managerId": manager}),
        ("addOrderComment", COMMENT, {"orderId": order["id"], "text": "mine now"}),
        ("registerPayment", PAY, {"orderId": order["id"], "amount": "1.00", "method": "CASH"}),
        ("refundPayment", REFUND, {"paymentId": payment["id"], "amount": "1.00"}),
    ]
    for name, document, data in calls:
        body = await stranger.api.ok(document, {"input": data})
        assert [e["code"] for e in body[name]["userErrors"]] == ["NOT_FOUND"], (name, body)
    read = await stranger.api.raw("query($id: ID!) { order(id: $id) { id } }", {"id": order["id"]})
    assert read["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # Placing through another account's channel, customer or variant is not found either.
    for change in (
        {"channelId": shop.channel_id},
        {"customer": {"id": order["customer"]["id"]}},
        {"lines": [{"variantId": str(shop.variants["A"]), "quantity": "1"}]},
    ):
        payload = await place(stranger, **{"raw_lines": change.pop("lines", None), **change})
        assert "NOT_FOUND" in [e["code"] for e in payload["userErrors"]], (change, payload)
    assert await state(shop) == before
