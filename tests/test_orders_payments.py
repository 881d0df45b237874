"""Payments and refunds, the payment status, and the customer's figures."""

from __future__ import annotations

from datetime import datetime

from models.orders import Order
from tests.test_orders_helpers import PAY, REFUND, open_shop, order_rows, place_ok, set_status

METRICS = """query($id: ID!) { customer(id: $id) {
  metrics { lastSaleAt totalSales orderCount averageOrder balance } } }"""


async def pay(shop, order_id: str, amount: str, method: str = "CARD") -> dict:
    return (await shop.api.ok(PAY, {"input": {"orderId": order_id, "amount": amount, "method": method}}))[
        "registerPayment"
    ]


async def refund(shop, payment_id: str, amount: str) -> dict:
    return (await shop.api.ok(REFUND, {"input": {"paymentId": payment_id, "amount": amount}}))[
        "refundPayment"
    ]


async def test_payments_move_the_payment_status_from_unpaid_to_paid(company):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 2)])  # 200.00
    first = await pay(shop, order["id"], "50.00", "CASH")
    assert first["userErrors"] == []
    assert first["payment"] == {
        "id": first["payment"]["id"],
        "kind": "PAYMENT",
        "method": "CASH",
        "amount": "50.00",
        "refunded": "0.00",
    }
    assert first["order"]["paymentStatus"] == "PARTIALLY_PAID"
    assert (first["order"]["paid"], first["order"]["due"]) == ("50.00", "150.00")
    second = await pay(shop, order["id"], "150.00")
    assert second["order"]["paymentStatus"] == "PAID" and second["order"]["due"] == "0.00"
    body = await shop.api.ok(
        "query($id: ID!) { order(id: $id) { payments { amount method } events { type amount } } }",
        {"id": order["id"]},
    )
    assert body["order"]["payments"] == [
        {"amount": "50.00", "method": "CASH"},
        {"amount": "150.00", "method": "CARD"},
    ]
    assert [(e["type"], e["amount"]) for e in body["order"]["events"]] == [
        ("CREATED", None),
        ("PAID", "50.00"),
        ("PAID", "150.00"),
    ]


async def test_paying_more_than_is_due_is_refused_and_changes_nothing(company):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 1)])  # 100.00
    await pay(shop, order["id"], "60.00")
    before = await order_rows(shop)
    over = await pay(shop, order["id"], "40.01")
    assert over["payment"] is None
    assert over["userErrors"][0]["code"] == "OVERPAYMENT" and over["userErrors"][0]["field"] == ["amount"]
    assert "only 40.00 RUB is due" in over["userErrors"][0]["message"]
    assert await order_rows(shop) == before
    for amount, code in (("0", "ZERO"), ("-5.00", "NEGATIVE"), ("1.001", "TOO_MANY_DECIMALS")):
        assert (await pay(shop, order["id"], amount))["userErrors"][0]["code"] == code
    assert await order_rows(shop) == before


async def test_refunds_lower_the_paid_amount_and_may_not_exceed_the_payment(company):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 1)])
    payment = (await pay(shop, order["id"], "100.00"))["payment"]
    partial = await refund(shop, payment["id"], "30.00")
    assert partial["userErrors"] == []
    assert partial["refund"]["kind"] == "REFUND" and partial["refund"]["refundOf"] == {"id": payment["id"]}
    assert partial["payment"]["refunded"] == "30.00"
    assert partial["order"] == {"id": order["id"], "paymentStatus": "PARTIALLY_PAID", "paid": "70.00"}
    too_much = await refund(shop, payment["id"], "70.01")
    assert too_much["userErrors"][0]["code"] == "OVER_REFUND"
    assert "only 70.00 RUB" in too_much["userErrors"][0]["message"]
    rest = await refund(shop, payment["id"], "70.00")
    assert rest["order"]["paymentStatus"] == "REFUNDED" and rest["order"]["paid"] == "0.00"
    not_a_payment = await refund(shop, rest["refund"]["id"], "1.00")
    assert not_a_payment["userErrors"][0]["code"] == "NOT_A_PAYMENT"
    # Paid again after the refund: the order may take its total once more.
    again = await pay(shop, order["id"], "100.00")
    assert again["order"]["paymentStatus"] == "PAID"


async def test_a_cancelled_order_takes_no_payments(company):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 1)])
    await set_status(shop, order["id"], "CANCELLED")
    assert (await pay(shop, order["id"], "10.00"))["userErrors"][0]["code"] == "ORDER_CANCELLED"


async def test_customer_metrics_count_sales_and_the_balance_of_payments_and_shipped_goods(company):
    shop = await open_shop(company)
    customer = {"name": "Eve", "email": "eve@example.com"}
    first = await place_ok(shop, [("A", 1)], customer=customer)  # 100.00, shipped, paid 100
    second = await place_ok(shop, [("B", 2)], customer=customer)  # 501.00, prepaid 200, not shipped
    cancelled = await place_ok(shop, [("C", 1)], customer=customer)  # not a sale
    customer_id = first["customer"]["id"]
    empty = await shop.api.ok(METRICS, {"id": customer_id})
    assert empty["customer"]["metrics"]["orderCount"] == 3
    for status in ("CONFIRMED", "PACKED", "SHIPPED"):
        await set_status(shop, first["id"], status)
    await pay(shop, first["id"], "100.00")
    await pay(shop, second["id"], "200.00")
    await set_status(shop, cancelled["id"], "CANCELLED")
    metrics = (await shop.api.ok(METRICS, {"id": customer_id}))["customer"]["metrics"]
    assert metrics["orderCount"] == 2
    assert metrics["totalSales"] == "601.00"
    assert metrics["averageOrder"] == "300.50"
    assert metrics["balance"] == "200.00"  # paid 300, shipped 100
    last_sale = (await Order.get(id=second["id"])).created_at  # the cancelled one came later, but is no sale
    assert datetime.fromisoformat(metrics["lastSaleAt"]) == last_sale
    # The shipped order is paid back in full and returned: nothing shipped counts any more.
    await set_status(shop, first["id"], "RETURNED")
    metrics = (await shop.api.ok(METRICS, {"id": customer_id}))["customer"]["metrics"]
    assert (metrics["orderCount"], metrics["totalSales"], metrics["balance"]) == (1, "501.00", "300.00")


async def test_a_customer_without_orders_has_empty_metrics(company):
    created = await company.api.mutate(
        "createCustomer",
        'mutation { createCustomer(input: {name: "New"}) { customer { id } userErrors { code } } }',
    )
    metrics = (await company.api.ok(METRICS, {"id": created["customer"]["id"]}))["customer"]["metrics"]
    assert metrics == {
        "lastSaleAt": None,
        "totalSales": "0.00",
        "orderCount": 0,
        "averageOrder": "0.00",
        "balance": "0.00",
    }


async def test_metrics_of_a_page_of_customers_take_one_query(company):
    shop = await open_shop(company)
    for index in range(5):
        await place_ok(shop, [("C", 1)], customer={"email": f"c{index}@example.com"})
    from tests.conftest import count_queries

    query = "{ customers(first: 50) { nodes { id metrics { orderCount totalSales } } } }"
    with count_queries() as counted:
        body = await shop.api.ok(query)
    assert [n["metrics"] for n in body["customers"]["nodes"]] == [{"orderCount": 1, "totalSales": "9.99"}] * 5
    metrics_queries = [s for s in counted.statements if "customer_order" in s]
    assert len(metrics_queries) == 1, metrics_queries
