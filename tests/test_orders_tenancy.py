"""Teaches tests/test_tenancy.py to make the order domain's objects, and checks a few by hand.

test_tenancy calls every operation that takes an id as another account; the maker below gives
it an account's sales channel, order, payment and manager to aim at.
"""

from __future__ import annotations

from tests.conftest import Company
from tests.test_orders_helpers import PAY, open_shop, place_ok


async def order_objects(company: Company, objects: dict[str, str]) -> dict[str, str]:
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 1)])
    paid = await shop.api.mutate(
        "registerPayment", PAY, {"input": {"orderId": order["id"], "amount": "10.00", "method": "CASH"}}
    )
    made = {
        "salesChannel": shop.channel_id,
        "channel": shop.channel_id,
        "order": order["id"],
        "payment": paid["payment"]["id"],
        "manager": company.user_id,
        "orderCustomer": order["customer"]["id"],
    }
    if "warehouse" not in objects:
        made["warehouse"] = str(shop.warehouse_id)
    return made


async def test_another_accounts_channel_and_its_orders_stay_out_of_sight(company, other_company):
    objects = await order_objects(company, {})
    api = other_company.api
    channel = await api.raw("query($id: ID!) { salesChannel(id: $id) { id } }", {"id": objects["channel"]})
    assert channel["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await api.ok("{ salesChannels { id } orders { totalCount } overdueOrders { totalCount } }")) == {
        "salesChannels": [],
        "orders": {"totalCount": 0},
        "overdueOrders": {"totalCount": 0},
    }
    filtered = await api.raw(
        "query($c: [ID!]) { orders(filter: {channelIds: $c}) { totalCount } }", {"c": [objects["channel"]]}
    )
    assert filtered["errors"][0]["extensions"]["code"] == "NOT_FOUND"
