"""Teaches tests/test_tenancy.py to make the stock domain's objects, and checks a few by hand.

test_tenancy calls every operation that takes an id as another account; the maker below gives
it an account's warehouse and stock document to aim at.
"""

from __future__ import annotations

from tests.conftest import Company
from tests.test_inventory_helpers import gql_warehouse, post_ok


async def stock_objects(company: Company, objects: dict[str, str]) -> dict[str, str]:
    warehouse = await gql_warehouse(company, "Tenancy")
    document = await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=warehouse,
        lines=[{"variantId": objects["variant"], "quantity": "1", "unitCost": "1.00"}],
    )
    return {"warehouse": warehouse, "stockDocument": document["id"]}


async def test_another_accounts_warehouse_and_documents_stay_out_of_sight(company, other_company):
    variant = (await company.api.ok("{ products { nodes { variants { id } } } }"))["products"]["nodes"]
    if not variant:
        from tests.test_catalog import tshirt, upsert

        await upsert(company, [tshirt()])
        variant = (await company.api.ok("{ products { nodes { variants { id } } } }"))["products"]["nodes"]
    objects = await stock_objects(company, {"variant": variant[0]["variants"][0]["id"]})
    api = other_company.api
    for query, variables in (
        ("query($id: ID!) { warehouse(id: $id) { id } }", {"id": objects["warehouse"]}),
        ("query($id: ID!) { stockDocument(id: $id) { id } }", {"id": objects["stockDocument"]}),
        (
            "query($w: [ID!]) { stockDocuments(filter: {warehouseIds: $w}) { totalCount } }",
            {"w": [objects["warehouse"]]},
        ),
    ):
        body = await api.raw(query, variables)
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", body
    assert await api.ok("{ warehouses { totalCount } stockDocuments { totalCount } }") == {
        "warehouses": {"totalCount": 0},
        "stockDocuments": {"totalCount": 0},
    }
