"""Bad catalog input gets a clear error and writes nothing."""

from __future__ import annotations

import pytest

from tests.conftest import Company
from tests.test_catalog import UPSERT, tshirt, upsert

COUNT = "{ products(first: 1, archived: null) { totalCount } productGroups { id } }"


async def snapshot(company: Company) -> dict:
    return await company.api.ok(COUNT)


async def assert_rejected(
    company: Company, products: list[dict], code: str, field_end: str | None = None
) -> None:
    before = await snapshot(company)
    payload = await upsert(company, products)
    assert payload["products"] is None
    codes = [e["code"] for e in payload["userErrors"]]
    assert code in codes, payload["userErrors"]
    if field_end is not None:
        error = next(e for e in payload["userErrors"] if e["code"] == code)
        assert error["field"][-1] == field_end
        assert error["message"]
    assert await snapshot(company) == before


@pytest.mark.parametrize(
    ("change", "code", "field_end"),
    [
        ({"article": ""}, "REQUIRED", "article"),
        ({"article": "   "}, "REQUIRED", "article"),
        ({"name": ""}, "REQUIRED", "name"),
        ({"article": "x" * 101}, "TOO_LONG", "article"),
        ({"name": "x" * 501}, "TOO_LONG", "name"),
        ({"description": "x" * 20001}, "TOO_LONG", "description"),
        ({"groupPath": ["ok", ""]}, "REQUIRED", "groupPath"),
        ({"prices": [{"priceType": "RETAIL", "amount": "-1.00"}]}, "NEGATIVE", "amount"),
        ({"prices": [{"priceType": "RETAIL", "amount": "1.001"}]}, "TOO_MANY_DECIMALS", "amount"),
        ({"prices": [{"priceType": "RETAIL", "amount": "100000000000.00"}]}, "TOO_LARGE", "amount"),
        ({"prices": [{"priceType": "NO_SUCH", "amount": "1.00"}]}, "UNKNOWN_PRICE_TYPE", "priceType"),
    ],
)
async def test_a_bad_product_field_is_refused_and_nothing_is_written(company, change, code, field_end):
    good = {"article": "GOOD", "name": "Fine"}
    await assert_rejected(company, [good, {**tshirt(), **change}], code, field_end)


async def test_two_variants_with_the_same_sku_in_one_upsert_are_refused(company):
    product = tshirt()
    product["variants"][1]["sku"] = product["variants"][0]["sku"]
    await assert_rejected(company, [product], "DUPLICATE_SKU", "sku")


async def test_the_same_sku_in_two_products_of_one_upsert_is_refused(company):
    await assert_rejected(
        company,
        [
            {"article": "A", "name": "a", "variants": [{"sku": "S"}]},
            {"article": "B", "name": "b", "variants": [{"sku": "S"}]},
        ],
        "DUPLICATE_SKU",
    )


async def test_a_sku_that_belongs_to_another_product_is_refused(company):
    await upsert(company, [{"article": "A", "name": "a", "variants": [{"sku": "S"}]}])
    await assert_rejected(company, [{"article": "B", "name": "b", "variants": [{"sku": "S"}]}], "SKU_TAKEN")


async def test_the_same_article_twice_in_one_upsert_is_refused(company):
    await assert_rejected(
        company, [{"article": "A", "name": "a"}, {"article": "A", "name": "b"}], "DUPLICATE_ARTICLE"
    )


async def test_more_than_250_products_in_one_call_are_refused(company):
    products = [{"article": f"P{i}", "name": "p"} for i in range(251)]
    await assert_rejected(company, products, "TOO_MANY")


async def test_250_products_in_one_call_are_taken(company):
    payload = await upsert(company, [{"article": f"P{i}", "name": "p"} for i in range(250)])
    assert payload["userErrors"] == [] and len(payload["products"]) == 250


async def test_an_unknown_unit_is_a_graphql_validation_error(company):
    body = await company.api.raw(
        UPSERT, {"input": {"products": [{"article": "A", "name": "a", "unit": "BARREL"}]}}
    )
    assert body["errors"] and "BARREL" in body["errors"][0]["message"]
    assert (await snapshot(company))["products"]["totalCount"] == 0


@pytest.mark.parametrize(
    "bad_id", ["not-a-uuid", "", "123", "00000000-0000-0000-0000-000000000000", "' OR 1=1 --"]
)
async def test_malformed_or_unknown_ids_are_not_found(company, bad_id):
    for query in (
        "query($id: ID!) { product(id: $id) { id } }",
        "query($id: ID!) { variant(id: $id) { id } }",
    ):
        body = await company.api.raw(query, {"id": bad_id})
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", body


async def test_wrong_variable_types_are_refused_before_running(company):
    body = await company.api.raw(
        "query($first: Int) { products(first: $first) { totalCount } }", {"first": "ten"}
    )
    assert body["errors"] and "Int" in body["errors"][0]["message"]
    body = await company.api.raw(UPSERT, {"input": {"products": [{"article": 5, "name": ["x"]}]}})
    assert body["errors"] and body.get("data") is None


async def test_first_above_250_is_refused(company):
    body = await company.api.raw("{ products(first: 251) { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "250" in body["errors"][0]["message"]
