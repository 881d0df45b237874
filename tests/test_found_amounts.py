"""Found by review: decimal edge cases in money and quantities get a clear error, never a masked
one, and are never rounded silently (services/amounts.py)."""

from __future__ import annotations

import pytest

from tests.test_orders_bad_input import codes, state
from tests.test_orders_helpers import PAY, open_shop, place, place_ok


@pytest.mark.parametrize(
    ("quantity", "code"),
    [
        ("1e999999", "TOO_LARGE"),  # overflowed the decimal context: INTERNAL_ERROR before
        ("1e1000000000", "TOO_LARGE"),
        ("1e-1000000000", "TOO_MANY_DECIMALS"),  # was rounded to a line of quantity 0
        ("1." + "0" * 40 + "1", "TOO_MANY_DECIMALS"),  # was rounded to 1
    ],
)
async def test_an_extreme_quantity_is_refused_clearly(company, quantity, code):
    shop = await open_shop(company)
    before = await state(shop)
    payload = await place(shop, [("A", quantity)])
    assert codes(payload) == [(["lines", "0", "quantity"], code)]
    assert await state(shop) == before


@pytest.mark.parametrize(
    ("price", "code"),
    [("1e999999", "TOO_LARGE"), ("1." + "0" * 40 + "1", "TOO_MANY_DECIMALS")],
)
async def test_an_extreme_price_is_refused_clearly(company, price, code):
    shop = await open_shop(company)
    before = await state(shop)
    payload = await place(shop, raw_lines=[{"sku": "A", "quantity": "1", "price": price}])
    assert codes(payload) == [(["lines", "0", "price"], code)]
    assert await state(shop) == before


async def test_an_exact_amount_with_many_trailing_zeros_is_accepted(company):
    shop = await open_shop(company)
    order = await place_ok(shop, raw_lines=[{"sku": "A", "quantity": "2." + "0" * 40, "price": "1e1"}])
    assert order["total"] == "20.00"


@pytest.mark.parametrize("amount", ["1e999999", "0.001e-999999999"])
async def test_an_extreme_payment_amount_is_a_user_error(company, amount):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 1)])
    before = await state(shop)
    body = await shop.api.ok(PAY, {"input": {"orderId": order["id"], "amount": amount, "method": "CASH"}})
    errors = body["registerPayment"]["userErrors"]
    assert [e["field"] for e in errors] == [["amount"]], errors
    assert await state(shop) == before
