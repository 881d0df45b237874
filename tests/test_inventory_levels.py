"""Stock levels and totals: available, free now, totals per variant and kind, filters, accounts apart."""

from __future__ import annotations

import uuid

from services import catalog, inventory
from services.catalog import ProductSpec
from services.inventory import ReservationRequest
from tests.conftest import count_queries
from tests.test_inventory_helpers import LEVELS, add_variants, gql_warehouse, levels, owner, post_ok

TOTALS = """query($filter: StockLevelFilterInput, $first: Int, $after: String) {
  stockTotals(filter: $filter, first: $first, after: $after) {
    nodes { variant { sku } onHand reserved incoming available freeNow averageCost
            byKind { kind onHand reserved incoming available freeNow } }
    totalCount pageInfo { hasNextPage endCursor } } }"""


async def test_available_is_on_hand_minus_reserved_plus_incoming_and_free_now_leaves_incoming_out(company):
    actor = owner(company)
    variants = await add_variants(actor, ["A"])
    main = await gql_warehouse(company, "Main")
    await post_ok(
        company, kind="RECEIPT", warehouseId=main, lines=[{"sku": "A", "quantity": "10", "unitCost": "1.00"}]
    )
    await inventory.reserve_stock(
        actor.account_id,
        [ReservationRequest(uuid.uuid4(), uuid.UUID(main), variants["A"], 3000)],
        allow_backorders=False,
    )
    await inventory.adjust_incoming(actor.account_id, [(uuid.UUID(main), variants["A"], 5000)])
    node = (await levels(company))[("Main", "A")]
    assert (node["onHand"], node["reserved"], node["incoming"]) == ("10", "3", "5")
    assert (node["freeNow"], node["available"]) == ("7", "12")
    await inventory.adjust_incoming(actor.account_id, [(uuid.UUID(main), variants["A"], -9000)])
    assert (await levels(company))[("Main", "A")]["incoming"] == "0"  # never below zero


async def test_totals_count_each_warehouses_free_stock_from_zero_so_a_short_one_hides_nothing(company):
    actor = owner(company)
    variants = await add_variants(actor, ["A"])
    main = await gql_warehouse(company, "Main")
    courier = await gql_warehouse(company, "Courier", "DELIVERY_SERVICE")
    owed = await gql_warehouse(company, "Owed")
    await post_ok(
        company, kind="RECEIPT", warehouseId=main, lines=[{"sku": "A", "quantity": "10", "unitCost": "1.00"}]
    )
    await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=courier,
        lines=[{"sku": "A", "quantity": "2", "unitCost": "4.00"}],
    )
    # A backorder in the third warehouse: 4 reserved of nothing on hand.
    await inventory.reserve_stock(
        actor.account_id,
        [ReservationRequest(uuid.uuid4(), uuid.UUID(owed), variants["A"], 4000)],
        allow_backorders=True,
    )
    node = (await company.api.ok(TOTALS))["stockTotals"]["nodes"][0]
    assert (node["onHand"], node["reserved"], node["freeNow"], node["available"]) == ("12", "4", "12", "12")
    assert node["averageCost"] == "1.50"
    by_kind = {k["kind"]: k for k in node["byKind"]}
    assert (by_kind["OWN"]["onHand"], by_kind["OWN"]["freeNow"]) == ("10", "10")
    assert (by_kind["DELIVERY_SERVICE"]["onHand"], by_kind["DELIVERY_SERVICE"]["freeNow"]) == ("2", "2")
    own_only = (await company.api.ok(TOTALS, {"filter": {"warehouseKinds": ["DELIVERY_SERVICE"]}}))[
        "stockTotals"
    ]
    assert [(n["onHand"], [k["kind"] for k in n["byKind"]]) for n in own_only["nodes"]] == [
        ("2", ["DELIVERY_SERVICE"])
    ]
    owed_level = (await levels(company))[("Owed", "A")]
    assert (owed_level["freeNow"], owed_level["available"]) == ("-4", "-4")


async def test_levels_filter_by_group_warehouse_kind_and_sku(company):
    actor = owner(company)
    await catalog.upsert_products(
        actor,
        [
            ProductSpec(article="SHIRT", name="Shirt", group_path=["Clothes", "Shirts"]),
            ProductSpec(article="CAP", name="Cap", group_path=["Clothes"]),
            ProductSpec(article="MUG", name="Mug", group_path=["Kitchen"]),
        ],
    )
    main = await gql_warehouse(company, "Main")
    supplier = (
        await company.api.mutate(
            "createSupplier",
            """mutation($input: CreateSupplierInput!) { createSupplier(input: $input) {
              supplier { id } userErrors { code } } }""",
            {"input": {"name": "Maker"}},
        )
    )["supplier"]["id"]
    theirs = await gql_warehouse(company, "Maker stock", "SUPPLIER", supplier)
    lines = [{"sku": s, "quantity": "1", "unitCost": "1.00"} for s in ("SHIRT", "CAP", "MUG")]
    await post_ok(company, kind="RECEIPT", warehouseId=main, lines=lines)
    await post_ok(company, kind="RECEIPT", warehouseId=theirs, lines=lines[:1])
    groups = {
        g["path"][-1]: g["id"]
        for g in (await company.api.ok("{ productGroups { id path } }"))["productGroups"]
    }

    assert set(await levels(company, groupId=groups["Clothes"])) == {
        ("Main", "SHIRT"),
        ("Main", "CAP"),
        ("Maker stock", "SHIRT"),
    }
    assert set(await levels(company, groupId=groups["Shirts"])) == {
        ("Main", "SHIRT"),
        ("Maker stock", "SHIRT"),
    }
    assert set(await levels(company, warehouseIds=[theirs])) == {("Maker stock", "SHIRT")}
    assert set(await levels(company, warehouseKinds=["SUPPLIER"])) == {("Maker stock", "SHIRT")}
    assert set(await levels(company, skus=["MUG", "CAP"])) == {("Main", "MUG"), ("Main", "CAP")}
    assert set(await levels(company, skus=["MUG"], warehouseKinds=["SUPPLIER"])) == set()


async def test_levels_page_by_cursor_in_a_fixed_number_of_queries(company):
    actor = owner(company)
    skus = [f"S{i:02d}" for i in range(12)]
    await add_variants(actor, skus)
    main = await gql_warehouse(company, "Main")
    await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=main,
        lines=[{"sku": s, "quantity": "1", "unitCost": "1.00"} for s in skus],
    )
    seen, after = [], None
    while True:
        page = (await company.api.ok(LEVELS, {"first": 5, "after": after}))["stockLevels"]
        seen += [n["variant"]["sku"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == skus and len(seen) == 12

    async def queries(first: int) -> int:
        with count_queries() as counter:
            await company.api.ok(LEVELS, {"first": first})
        return len(counter.statements)

    assert await queries(12) == await queries(3)


async def test_another_account_sees_none_of_this_accounts_stock_and_its_ids_are_not_found(
    company, other_company
):
    variants = await add_variants(owner(company), ["A"])
    main = await gql_warehouse(company, "Main")
    await post_ok(
        company, kind="RECEIPT", warehouseId=main, lines=[{"sku": "A", "quantity": "3", "unitCost": "1.00"}]
    )
    other = other_company.api
    assert (await other.ok("{ stockLevels { totalCount } stockTotals { totalCount } }")) == {
        "stockLevels": {"totalCount": 0},
        "stockTotals": {"totalCount": 0},
    }
    for flt in (
        {"warehouseIds": [main]},
        {"variantIds": [str(variants["A"])]},
        {"warehouseIds": ["not-a-uuid"]},
    ):
        body = await other.raw(LEVELS, {"filter": flt})
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", body
    for query, variables in (
        ("query($id: ID!) { warehouse(id: $id) { id } }", {"id": main}),
        (
            'query($v: ID!) { stockAsOf(variantId: $v, at: "2030-01-01T00:00:00+00:00") { onHand } }',
            {"v": str(variants["A"])},
        ),
    ):
        body = await other.raw(query, variables)
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", body
