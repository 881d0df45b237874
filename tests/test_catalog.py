"""Catalog: upsert by article and sku, variants, prices, groups, search and pagination."""

from __future__ import annotations

from tests.conftest import Company

UPSERT = """
mutation($input: UpsertProductsInput!) { upsertProducts(input: $input) {
  products { id article name unit vatRate group { name path } variants { id sku characteristics { name value }
    prices { priceType { code } amount } } }
  userErrors { field code message } } }
"""

PRODUCTS = """
query($first: Int, $after: String, $search: String, $groupId: ID) {
  products(first: $first, after: $after, search: $search, groupId: $groupId) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { article } } nodes { article } } }
"""


def tshirt(article: str = "TS-1", **extra: object) -> dict:
    return {
        "article": article,
        "name": "T-shirt",
        "groupPath": ["Clothes", "T-shirts"],
        "vatRate": "VAT20",
        "prices": [{"priceType": "RETAIL", "amount": "555.00"}],
        "variants": [
            {
                "sku": f"{article}-M-RED",
                "characteristics": [{"name": "Size", "value": "M"}, {"name": "Colour", "value": "Red"}],
            },
            {
                "sku": f"{article}-L-RED",
                "characteristics": [{"name": "Size", "value": "L"}, {"name": "Colour", "value": "Red"}],
                "prices": [{"priceType": "RETAIL", "amount": "99999999.99"}],
            },
        ],
        **extra,
    }


async def upsert(company: Company, products: list[dict]) -> dict:
    return (await company.api.ok(UPSERT, {"input": {"products": products}}))["upsertProducts"]


async def test_a_product_with_variants_is_created_with_its_prices_exactly(company):
    payload = await upsert(company, [tshirt()])
    assert payload["userErrors"] == []
    product = payload["products"][0]
    assert product["group"] == {"name": "T-shirts", "path": ["Clothes", "T-shirts"]}
    prices = {v["sku"]: v["prices"][0]["amount"] for v in product["variants"]}
    assert prices == {"TS-1-L-RED": "99999999.99", "TS-1-M-RED": "555.00"}
    sizes = [v["characteristics"][0]["value"] for v in product["variants"]]
    assert sorted(sizes) == ["L", "M"]


async def test_upserting_the_same_products_twice_changes_nothing(company):
    first = await upsert(company, [tshirt("A1"), tshirt("A2")])
    second = await upsert(company, [tshirt("A1"), tshirt("A2")])
    assert first["products"] == second["products"]
    listed = await company.api.ok(PRODUCTS, {"first": 10})
    assert listed["products"]["totalCount"] == 2


async def test_upsert_updates_by_article_and_keeps_variant_ids(company):
    first = await upsert(company, [tshirt()])
    changed = tshirt(name="Better T-shirt")
    changed["prices"] = [{"priceType": "RETAIL", "amount": "600.50"}]
    second = await upsert(company, [changed])
    assert second["products"][0]["name"] == "Better T-shirt"
    assert second["products"][0]["id"] == first["products"][0]["id"]
    ids_before = {v["sku"]: v["id"] for v in first["products"][0]["variants"]}
    ids_after = {v["sku"]: v["id"] for v in second["products"][0]["variants"]}
    assert ids_before == ids_after
    m_price = [v for v in second["products"][0]["variants"] if v["sku"] == "TS-1-M-RED"][0]["prices"][0]
    assert m_price["amount"] == "600.50"


async def test_a_product_without_variants_gets_one_whose_sku_is_its_article(company):
    payload = await upsert(company, [{"article": "MUG", "name": "Mug"}])
    assert [v["sku"] for v in payload["products"][0]["variants"]] == ["MUG"]
    found = await company.api.ok('{ variantBySku(sku: "MUG") { sku product { article } } }')
    assert found["variantBySku"] == {"sku": "MUG", "product": {"article": "MUG"}}


async def test_products_page_through_with_cursors_and_search(company):
    await upsert(company, [{"article": f"P{i:03}", "name": f"Item {i}"} for i in range(7)])
    seen: list[str] = []
    after = None
    while True:
        page = (await company.api.ok(PRODUCTS, {"first": 3, "after": after}))["products"]
        seen += [e["node"]["article"] for e in page["edges"]]
        assert [n["article"] for n in page["nodes"]] == [e["node"]["article"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"P{i:03}" for i in range(7)]
    found = (await company.api.ok(PRODUCTS, {"search": "item 4"}))["products"]
    assert [n["article"] for n in found["nodes"]] == ["P004"]


async def test_search_finds_a_product_by_a_variant_sku(company):
    await upsert(company, [tshirt()])
    found = (await company.api.ok(PRODUCTS, {"search": "L-RED"}))["products"]
    assert [n["article"] for n in found["nodes"]] == ["TS-1"]


async def test_filtering_by_group_includes_its_subgroups(company):
    await upsert(
        company,
        [
            {"article": "A", "name": "a", "groupPath": ["Clothes", "Shirts"]},
            {"article": "B", "name": "b", "groupPath": ["Clothes"]},
            {"article": "C", "name": "c", "groupPath": ["Toys"]},
        ],
    )
    groups = (await company.api.ok("{ productGroups { id name path } }"))["productGroups"]
    clothes = next(g["id"] for g in groups if g["path"] == ["Clothes"])
    found = (await company.api.ok(PRODUCTS, {"groupId": clothes}))["products"]
    assert sorted(n["article"] for n in found["nodes"]) == ["A", "B"]


async def test_custom_price_types_can_be_created_and_used(company):
    created = await company.api.mutate(
        "createPriceType",
        'mutation { createPriceType(input: {code: "marketplace", name: "Marketplace"}) '
        "{ priceType { code } userErrors { code } } }",
    )
    assert created["priceType"]["code"] == "MARKETPLACE"
    payload = await upsert(
        company, [{"article": "X", "name": "x", "prices": [{"priceType": "MARKETPLACE", "amount": "10"}]}]
    )
    assert payload["products"][0]["variants"][0]["prices"][0]["amount"] == "10.00"


async def test_money_keeps_the_currency_minor_units(client):
    from tests.conftest import sign_up

    yen = await sign_up(client, currency="JPY")
    payload = await upsert(
        yen, [{"article": "Y", "name": "y", "prices": [{"priceType": "RETAIL", "amount": "1500"}]}]
    )
    assert payload["products"][0]["variants"][0]["prices"][0]["amount"] == "1500"
    bad = await upsert(
        yen, [{"article": "Z", "name": "z", "prices": [{"priceType": "RETAIL", "amount": "1.5"}]}]
    )
    assert bad["userErrors"][0]["code"] == "TOO_MANY_DECIMALS"


async def test_datetimes_carry_their_time_zone_and_ids_are_uuids(company):
    import uuid
    from datetime import datetime

    payload = await upsert(company, [{"article": "T", "name": "t"}])
    product_id = payload["products"][0]["id"]
    uuid.UUID(product_id)
    data = await company.api.ok(
        "query($id: ID!) { product(id: $id) { createdAt updatedAt } }", {"id": product_id}
    )
    assert datetime.fromisoformat(data["product"]["createdAt"]).tzinfo is not None


async def test_a_sku_of_another_account_is_not_found(company, other_company):
    await upsert(company, [{"article": "MINE", "name": "m"}])
    body = await other_company.api.raw('{ variantBySku(sku: "MINE") { id } }')
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
