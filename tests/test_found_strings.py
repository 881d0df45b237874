"""Found by review: text a client sends that no field can hold gets a clear error, never a masked
one. PostgreSQL refuses the NUL character in any text, so every request carrying one is refused
up front (schema/limits.py), on both backends; the public HTTP endpoints refuse it too."""

from __future__ import annotations

import uuid

from tests.test_catalog import tshirt, upsert
from tests.test_dropship_orders import ENDPOINT, callback
from tests.test_orders_helpers import COMMENT, open_shop, place_ok

NUL = "a\x00b"


def codes(body: dict) -> list[str]:
    return [(e.get("extensions") or {}).get("code", "") for e in body.get("errors") or []]


async def test_a_nul_character_in_a_lookup_or_filter_is_a_clear_error(company):
    await upsert(company, [tshirt()])
    for query, variables in [
        ("query($s: String!) { variantBySku(sku: $s) { id } }", {"s": NUL}),
        ("query($s: String) { products(search: $s) { totalCount } }", {"s": NUL}),
        ("query($s: String) { orders(filter: {search: $s}) { totalCount } }", {"s": NUL}),
        ('{ customers(search: "x\\u0000y") { totalCount } }', {}),
    ]:
        body = await company.api.raw(query, variables)
        assert codes(body) == ["BAD_USER_INPUT"], (query, body)
        assert "NUL" in body["errors"][0]["message"]


async def test_a_nul_character_in_a_mutation_changes_nothing(company):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 1)])
    body = await shop.api.raw(COMMENT, {"input": {"orderId": order["id"], "text": NUL}})
    assert codes(body) == ["BAD_USER_INPUT"], body
    events = await shop.api.ok("query($id: ID!) { order(id: $id) { events { type } } }", {"id": order["id"]})
    assert "COMMENTED" not in [e["type"] for e in events["order"]["events"]]


async def test_a_search_of_non_ascii_digits_finds_nothing_instead_of_failing(company):
    shop = await open_shop(company)
    await place_ok(shop, [("A", 1)])
    data = await shop.api.ok('{ orders(filter: {search: "#²"}) { totalCount } }')
    assert data["orders"]["totalCount"] == 0


async def test_the_unsubscribe_page_refuses_a_nul_token(client):
    response = await client.post("/unsubscribe/abc%00def")
    assert response.status_code == 404


async def test_a_dropship_callback_with_non_text_or_nul_fields_is_refused_not_crashed(company, client):
    supplier = await company.api.mutate(
        "createSupplier",
        'mutation { createSupplier(input: {name: "Acme"}) { supplier { id } userErrors { code } } }',
    )
    endpoint = (
        await company.api.mutate(
            "setSupplierEndpoint",
            ENDPOINT,
            {
                "input": {
                    "supplierId": supplier["supplier"]["id"],
                    "kind": "HTTP",
                    "url": "http://127.0.0.1:9/",
                }
            },
        )
    )["supplierEndpoint"]
    some_id = str(uuid.uuid4())
    for body in (
        {"id": some_id, "status": "SHIPPED", "tracking_number": {"x": 1}},  # AttributeError before
        {"id": some_id, "status": "REJECTED", "reason": NUL},
    ):
        response = await callback(client, endpoint, body)
        assert response.status_code == 422, (body, response.text)
