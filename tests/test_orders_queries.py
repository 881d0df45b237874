"""Reading orders: `order`, `orders` with filters and cursors, and a fixed number of SQL queries per page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services import orders
from services.orders import CustomerRef, LineSpec, PlaceOrder
from tests.conftest import count_queries
from tests.test_orders_helpers import (
    ORDER,
    add_manager,
    open_shop,
    place_ok,
    set_status,
)

LIST = """query($filter: OrderFilterInput, $first: Int, $after: String) {
  orders(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id number status } } }"""

PAGE = """query($first: Int) { orders(first: $first) { nodes {
  id number status paymentStatus total paid overdue confirmDeadline
  channel { name kind }
  customer { name emails }
  manager { email }
  lines { quantity price total variant { sku product { name } } }
  events { type at fromStatus toStatus actor { email } manager { email } }
  payments { amount method } } } }"""


async def numbers(api, flt: dict | None = None, **page: object) -> list[int]:
    body = await api.ok(LIST, {"filter": flt, **page})
    return [n["number"] for n in body["orders"]["nodes"]]


async def test_an_order_reads_back_with_everything_it_has(company):
    shop = await open_shop(company)
    _, manager = await add_manager(shop, "q1")
    placed = await place_ok(shop, [("A", 1), ("C", 2)], external_id="x-1")
    body = await shop.api.ok(ORDER, {"id": placed["id"]})
    assert body["order"] == placed
    assert body["order"]["manager"]["id"] == manager
    missing = await shop.api.raw(ORDER, {"id": "not-an-id"})
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_orders_filter_by_status_channel_manager_customer_dates_and_search(company):
    shop = await open_shop(company, {"C": 10})
    _, first_manager = await add_manager(shop, "f1")
    _, second_manager = await add_manager(shop, "f2")
    one = await place_ok(
        shop, [("C", 1)], customer={"name": "Zed Ant", "email": "zed@example.com"}, external_id="E-1"
    )
    two = await place_ok(shop, [("C", 1)], customer={"email": "yan@example.com"})
    three = await place_ok(shop, [("C", 1)], customer={"email": "zed@example.com"})
    await set_status(shop, two["id"], "CONFIRMED")
    api = shop.api
    assert await numbers(api) == [1, 2, 3]
    assert await numbers(api, {"statuses": ["NEW"]}) == [1, 3]
    assert await numbers(api, {"statuses": ["CONFIRMED", "CANCELLED"]}) == [2]
    assert await numbers(api, {"channelIds": [shop.channel_id]}) == [1, 2, 3]
    by_manager = await numbers(api, {"managerIds": [one["manager"]["id"]]})
    assert by_manager == [1, 3] and {first_manager, second_manager} >= {one["manager"]["id"]}
    assert await numbers(api, {"customerId": one["customer"]["id"]}) == [1, 3]
    assert await numbers(api, {"search": "zed"}) == [1, 3]
    assert await numbers(api, {"search": "E-1"}) == [1]
    assert await numbers(api, {"search": "#2"}) == [2]
    now = datetime.now(UTC)
    assert await numbers(api, {"createdFrom": (now - timedelta(hours=1)).isoformat()}) == [1, 2, 3]
    assert await numbers(api, {"createdTo": (now - timedelta(hours=1)).isoformat()}) == []
    assert three["customer"]["id"] == one["customer"]["id"]


async def test_orders_page_through_with_cursors(company):
    shop = await open_shop(company, {"C": 10})
    for _ in range(5):
        await place_ok(shop, [("C", 1)])
    body = await shop.api.ok(LIST, {"first": 2})
    page = body["orders"]
    assert [n["number"] for n in page["nodes"]] == [1, 2]
    assert page["totalCount"] == 5 and page["pageInfo"]["hasNextPage"] is True
    rest = await numbers(shop.api, first=10, after=page["pageInfo"]["endCursor"])
    assert rest == [3, 4, 5]


async def _place_many(shop, count: int, managers: int = 0) -> None:
    lines = [
        LineSpec(sku="A", quantity="1"),
        LineSpec(sku="B", quantity="1"),
        LineSpec(sku="C", quantity="1"),
    ]
    for index in range(count):
        order = await orders.place_order(
            shop.actor,
            PlaceOrder(
                channel_id=shop.channel_id,
                customer=CustomerRef(email=f"buyer{index % 7}@example.com"),
                lines=lines,
            ),
        )
        if index % 3 == 0:
            await orders.set_order_status(shop.actor, order.id, "CONFIRMED")


async def test_a_page_of_orders_with_everything_takes_the_same_queries_for_10_and_100(company, other_company):
    small = await open_shop(company, {"A": 200, "B": 200, "C": 200})
    large = await open_shop(other_company, {"A": 200, "B": 200, "C": 200})
    for shop in (small, large):
        await add_manager(shop, "p1")
        await add_manager(shop, "p2")
    await _place_many(small, 10)
    await _place_many(large, 100)
    counts = {}
    for name, shop, size in (("small", small, 10), ("large", large, 100)):
        with count_queries() as counted:
            body = await shop.api.ok(PAGE, {"first": 100})
        nodes = body["orders"]["nodes"]
        assert len(nodes) == size
        assert all(len(n["lines"]) == 3 and n["events"] and n["manager"] for n in nodes)
        assert all(n["lines"][0]["variant"]["product"]["name"] == "Thing" for n in nodes)
        counts[name] = len(counted.statements)
    assert counts["small"] == counts["large"], counts
    # The token, the page, the account (currency), channels, customers, managers, lines, events,
    # payments, variants, products, the events' actors: twelve, whatever the page size.
    assert counts["large"] == 12, counts
