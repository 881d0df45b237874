"""Stock documents over GraphQL: every kind posts ledger movements and changes levels at once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from services import inventory
from services.inventory import ReservationRequest
from tests.test_inventory_helpers import (
    DOCUMENT_FIELDS,
    ERRORS,
    REVERSE,
    add_variants,
    assert_invariants,
    gql_warehouse,
    levels,
    owner,
    post,
    post_ok,
)

COST = "{ stockTotals(filter: {skus: [$sku]}) { nodes { averageCost onHand } } }"


async def average_cost(company, sku: str) -> str:
    query = """query($sku: String!) { stockTotals(filter: {skus: [$sku]}) { nodes { averageCost } } }"""
    return (await company.api.ok(query, {"sku": sku}))["stockTotals"]["nodes"][0]["averageCost"]


async def setup(company, skus=("TEE-M", "TEE-L"), unit="PCS"):
    variants = await add_variants(owner(company), list(skus), unit=unit)
    main = await gql_warehouse(company, "Main")
    return variants, main


async def test_a_receipt_raises_on_hand_and_is_read_back_with_lines_author_and_time(company):
    _, main = await setup(company)
    document = await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=main,
        comment="first delivery",
        lines=[
            {"sku": "TEE-M", "quantity": "10", "unitCost": "250.00"},
            {"sku": "TEE-L", "quantity": "4", "unitCost": "260.00"},
        ],
    )
    assert document["kind"] == "RECEIPT" and document["comment"] == "first delivery"
    assert document["author"]["email"] == company.email
    assert datetime.fromisoformat(document["postedAt"]).tzinfo is not None
    assert [(x["variant"]["sku"], x["quantity"], x["unitCost"]) for x in document["lines"]] == [
        ("TEE-M", "10", "250.00"),
        ("TEE-L", "4", "260.00"),
    ]
    assert [(m["variant"]["sku"], m["quantity"], m["unitCost"]) for m in document["movements"]] == [
        ("TEE-M", "10", "250.00"),
        ("TEE-L", "4", "260.00"),
    ]
    found = await levels(company)
    assert (found[("Main", "TEE-M")]["onHand"], found[("Main", "TEE-M")]["freeNow"]) == ("10", "10")
    assert found[("Main", "TEE-L")]["available"] == "4"
    read = await company.api.ok(
        f"query($id: ID!) {{ stockDocument(id: $id) {{ {DOCUMENT_FIELDS} }} }}", {"id": document["id"]}
    )
    assert read["stockDocument"] == document


async def test_a_shipment_lowers_on_hand_and_keeps_the_average_cost_on_its_movement(company):
    _, main = await setup(company)
    await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=main,
        lines=[{"sku": "TEE-M", "quantity": "10", "unitCost": "7.00"}],
    )
    document = await post_ok(
        company, kind="SHIPMENT", warehouseId=main, lines=[{"sku": "TEE-M", "quantity": "3"}]
    )
    assert [(m["quantity"], m["unitCost"]) for m in document["movements"]] == [("-3", "7.00")]
    assert (await levels(company))[("Main", "TEE-M")]["onHand"] == "7"
    await assert_invariants(owner(company).account_id)


async def test_a_transfer_moves_both_sides_in_one_document(company):
    _, main = await setup(company)
    shop = await gql_warehouse(company, "Courier", "DELIVERY_SERVICE")
    await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=main,
        lines=[{"sku": "TEE-M", "quantity": "10", "unitCost": "5.00"}],
    )
    document = await post_ok(
        company,
        kind="TRANSFER",
        warehouseId=main,
        toWarehouseId=shop,
        lines=[{"sku": "TEE-M", "quantity": "4"}],
    )
    assert document["toWarehouse"]["id"] == shop
    assert sorted((m["warehouse"]["id"], m["quantity"]) for m in document["movements"]) == sorted(
        [(main, "-4"), (shop, "4")]
    )
    found = await levels(company)
    assert found[("Main", "TEE-M")]["onHand"] == "6"
    assert found[("Courier", "TEE-M")]["onHand"] == "4"
    assert found[("Courier", "TEE-M")]["warehouse"]["kind"] == "DELIVERY_SERVICE"
    await assert_invariants(owner(company).account_id)


async def test_a_write_off_keeps_its_reason(company):
    _, main = await setup(company)
    await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=main,
        lines=[{"sku": "TEE-M", "quantity": "5", "unitCost": "5.00"}],
    )
    document = await post_ok(
        company, kind="WRITE_OFF", warehouseId=main, reason="torn", lines=[{"sku": "TEE-M", "quantity": "2"}]
    )
    assert document["reason"] == "torn"
    assert (await levels(company))[("Main", "TEE-M")]["onHand"] == "3"


async def test_a_count_sets_on_hand_to_the_counted_figure_and_records_the_difference(company):
    _, main = await setup(company)
    await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=main,
        lines=[
            {"sku": "TEE-M", "quantity": "10", "unitCost": "5.00"},
            {"sku": "TEE-L", "quantity": "2", "unitCost": "5.00"},
        ],
    )
    document = await post_ok(
        company,
        kind="COUNT",
        warehouseId=main,
        lines=[{"sku": "TEE-M", "quantity": "7"}, {"sku": "TEE-L", "quantity": "5"}],
    )
    assert [x["quantity"] for x in document["lines"]] == ["7", "5"]
    assert [(m["variant"]["sku"], m["quantity"]) for m in document["movements"]] == [
        ("TEE-M", "-3"),
        ("TEE-L", "3"),
    ]
    found = await levels(company)
    assert (found[("Main", "TEE-M")]["onHand"], found[("Main", "TEE-L")]["onHand"]) == ("7", "5")
    again = await post_ok(company, kind="COUNT", warehouseId=main, lines=[{"sku": "TEE-M", "quantity": "7"}])
    assert again["movements"] == []  # nothing differed
    zero = await post_ok(company, kind="COUNT", warehouseId=main, lines=[{"sku": "TEE-L", "quantity": "0"}])
    assert [m["quantity"] for m in zero["movements"]] == ["-5"]
    await assert_invariants(owner(company).account_id)


async def test_a_return_brings_goods_back(company):
    _, main = await setup(company)
    await post_ok(company, kind="RETURN", warehouseId=main, lines=[{"sku": "TEE-L", "quantity": "1"}])
    assert (await levels(company))[("Main", "TEE-L")]["onHand"] == "1"
    await assert_invariants(owner(company).account_id)


async def test_goods_by_weight_keep_thousandths(company):
    variants, main = await setup(company, skus=("FLOUR",), unit="KG")
    await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=main,
        lines=[{"variantId": str(variants["FLOUR"]), "quantity": "2.5", "unitCost": "40.00"}],
    )
    await post_ok(company, kind="SHIPMENT", warehouseId=main, lines=[{"sku": "FLOUR", "quantity": "0.125"}])
    assert (await levels(company))[("Main", "FLOUR")]["onHand"] == "2.375"


async def test_the_moving_average_cost_follows_receipts_only(company):
    _, main = await setup(company)
    second = await gql_warehouse(company, "Second")
    receipt = {"kind": "RECEIPT", "warehouseId": main}
    await post_ok(company, **receipt, lines=[{"sku": "TEE-M", "quantity": "10", "unitCost": "100.00"}])
    assert await average_cost(company, "TEE-M") == "100.00"
    await post_ok(company, **receipt, lines=[{"sku": "TEE-M", "quantity": "10", "unitCost": "200.00"}])
    assert await average_cost(company, "TEE-M") == "150.00"
    shipment = await post_ok(
        company, kind="SHIPMENT", warehouseId=main, lines=[{"sku": "TEE-M", "quantity": "5"}]
    )
    assert shipment["movements"][0]["unitCost"] == "150.00"
    assert await average_cost(company, "TEE-M") == "150.00"
    # Stock in every warehouse weighs in: (15 × 150 + 5 × 300.01) / 20 = 187.5025 → 187.50
    await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=second,
        lines=[{"sku": "TEE-M", "quantity": "5", "unitCost": "300.01"}],
    )
    assert await average_cost(company, "TEE-M") == "187.50"


async def test_a_document_is_undone_by_a_compensating_document_never_edited(company):
    _, main = await setup(company)
    await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=main,
        lines=[{"sku": "TEE-M", "quantity": "10", "unitCost": "100.00"}],
    )
    wrong = await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=main,
        lines=[{"sku": "TEE-M", "quantity": "10", "unitCost": "300.00"}],
    )
    assert await average_cost(company, "TEE-M") == "200.00"
    payload = (await company.api.ok(REVERSE, {"input": {"stockDocumentId": wrong["id"], "comment": "typo"}}))[
        "reverseStockDocument"
    ]
    assert payload["userErrors"] == []
    reversal = payload["document"]
    assert (reversal["kind"], reversal["reverses"]["id"], reversal["comment"]) == (
        "RECEIPT",
        wrong["id"],
        "typo",
    )
    assert [m["quantity"] for m in reversal["movements"]] == ["-10"]
    assert (await levels(company))[("Main", "TEE-M")]["onHand"] == "10"
    assert await average_cost(company, "TEE-M") == "100.00"
    original = await company.api.ok(
        f"query($id: ID!) {{ stockDocument(id: $id) {{ {DOCUMENT_FIELDS} }} }}", {"id": wrong["id"]}
    )
    assert original["stockDocument"]["reversedBy"] == {"id": reversal["id"]}
    assert original["stockDocument"]["movements"] == wrong["movements"]
    for target, code in ((wrong["id"], "ALREADY_REVERSED"), (reversal["id"], "IS_REVERSAL")):
        again = (await company.api.ok(REVERSE, {"input": {"stockDocumentId": target}}))[
            "reverseStockDocument"
        ]
        assert [e["code"] for e in again["userErrors"]] == [code] and again["document"] is None
    assert (await levels(company))[("Main", "TEE-M")]["onHand"] == "10"
    await assert_invariants(owner(company).account_id)


async def test_reversing_a_transfer_and_a_count_negates_their_movements(company):
    _, main = await setup(company)
    second = await gql_warehouse(company, "Second")
    await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=main,
        lines=[{"sku": "TEE-M", "quantity": "10", "unitCost": "1.00"}],
    )
    transfer = await post_ok(
        company,
        kind="TRANSFER",
        warehouseId=main,
        toWarehouseId=second,
        lines=[{"sku": "TEE-M", "quantity": "4"}],
    )
    count = await post_ok(
        company, kind="COUNT", warehouseId=second, lines=[{"sku": "TEE-M", "quantity": "3"}]
    )
    for document in (count, transfer):
        payload = (await company.api.ok(REVERSE, {"input": {"stockDocumentId": document["id"]}}))[
            "reverseStockDocument"
        ]
        assert payload["userErrors"] == []
    found = await levels(company)
    assert (found[("Main", "TEE-M")]["onHand"], found[("Second", "TEE-M")]["onHand"]) == ("10", "0")
    await assert_invariants(owner(company).account_id)


async def test_reversing_a_receipt_whose_goods_are_gone_is_refused_and_changes_nothing(company):
    _, main = await setup(company)
    receipt = await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=main,
        lines=[{"sku": "TEE-M", "quantity": "3", "unitCost": "1.00"}],
    )
    await post_ok(company, kind="SHIPMENT", warehouseId=main, lines=[{"sku": "TEE-M", "quantity": "2"}])
    payload = (await company.api.ok(REVERSE, {"input": {"stockDocumentId": receipt["id"]}}))[
        "reverseStockDocument"
    ]
    assert [e["code"] for e in payload["userErrors"]] == ["INSUFFICIENT_STOCK"]
    assert "TEE-M" in payload["userErrors"][0]["message"]
    assert (await levels(company))[("Main", "TEE-M")]["onHand"] == "1"
    documents = await company.api.ok("{ stockDocuments { totalCount } }")
    assert documents["stockDocuments"]["totalCount"] == 2


async def test_documents_are_listed_in_posting_order_with_filters(company):
    variants, main = await setup(company)
    second = await gql_warehouse(company, "Second")
    first = await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=main,
        lines=[{"sku": "TEE-M", "quantity": "5", "unitCost": "1.00"}],
    )
    moved = await post_ok(
        company,
        kind="TRANSFER",
        warehouseId=main,
        toWarehouseId=second,
        lines=[{"sku": "TEE-M", "quantity": "1"}],
    )
    other = await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=main,
        lines=[{"sku": "TEE-L", "quantity": "5", "unitCost": "1.00"}],
    )
    query = """query($filter: StockDocumentFilterInput, $after: String) {
      stockDocuments(filter: $filter, first: 2, after: $after) {
        nodes { id kind } totalCount pageInfo { hasNextPage endCursor } } }"""

    async def ids(flt, after=None):
        return (await company.api.ok(query, {"filter": flt, "after": after}))["stockDocuments"]

    page = await ids(None)
    assert [n["id"] for n in page["nodes"]] == [first["id"], moved["id"]]
    assert page["pageInfo"]["hasNextPage"] and page["totalCount"] == 3
    rest = await ids(None, page["pageInfo"]["endCursor"])
    assert [n["id"] for n in rest["nodes"]] == [other["id"]]
    assert [n["id"] for n in (await ids({"kinds": ["TRANSFER"]}))["nodes"]] == [moved["id"]]
    assert [n["id"] for n in (await ids({"warehouseIds": [second]}))["nodes"]] == [moved["id"]]
    by_variant = await ids({"variantIds": [str(variants["TEE-L"])]})
    assert [n["id"] for n in by_variant["nodes"]] == [other["id"]]


async def test_stock_as_of_a_past_moment_is_summed_from_the_ledger(company):
    variants, main = await setup(company)
    second = await gql_warehouse(company, "Second")
    receipt = await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=main,
        lines=[{"sku": "TEE-M", "quantity": "10", "unitCost": "1.00"}],
    )
    await asyncio.sleep(0.01)
    transfer = await post_ok(
        company,
        kind="TRANSFER",
        warehouseId=main,
        toWarehouseId=second,
        lines=[{"sku": "TEE-M", "quantity": "4"}],
    )
    query = """query($v: ID!, $at: DateTime!, $w: [ID!]) {
      stockAsOf(variantId: $v, at: $at, warehouseIds: $w) { warehouse { name } variant { sku } onHand } }"""

    async def at(moment: datetime, warehouses=None) -> dict:
        rows = await company.api.ok(
            query, {"v": str(variants["TEE-M"]), "at": moment.isoformat(), "w": warehouses}
        )
        return {r["warehouse"]["name"]: r["onHand"] for r in rows["stockAsOf"]}

    posted = datetime.fromisoformat(receipt["postedAt"])
    assert await at(posted - timedelta(seconds=1)) == {}
    assert await at(posted) == {"Main": "10"}
    assert await at(datetime.fromisoformat(transfer["postedAt"])) == {"Main": "6", "Second": "4"}
    assert await at(datetime.fromisoformat(transfer["postedAt"]), [second]) == {"Second": "4"}


async def test_a_shipment_of_reserved_goods_needs_free_stock(company):
    variants, main = await setup(company)
    actor = owner(company)
    await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=main,
        lines=[{"sku": "TEE-M", "quantity": "5", "unitCost": "1.00"}],
    )
    await inventory.reserve_stock(
        actor.account_id,
        [ReservationRequest(uuid.uuid4(), uuid.UUID(main), variants["TEE-M"], 4000)],
        allow_backorders=False,
    )
    payload = await post(
        company, kind="SHIPMENT", warehouseId=main, lines=[{"sku": "TEE-M", "quantity": "2"}]
    )
    assert [e["code"] for e in payload["userErrors"]] == ["INSUFFICIENT_STOCK"]
    assert (
        "1 free" in payload["userErrors"][0]["message"]
        and "4 reserved" in payload["userErrors"][0]["message"]
    )
    assert payload["userErrors"][0]["field"] == ["lines", "0", "quantity"]
    await post_ok(company, kind="SHIPMENT", warehouseId=main, lines=[{"sku": "TEE-M", "quantity": "1"}])
    await assert_invariants(actor.account_id)


POST_ERRORS = f"""mutation($input: PostStockDocumentInput!) {{
  postStockDocument(input: $input) {{ {ERRORS} }} }}"""


async def test_a_viewer_may_read_stock_but_not_post(company):
    from tests.test_accounts import add_user

    _, main = await setup(company)
    viewer = await add_user(company, "VIEWER")
    body = await viewer.raw(
        POST_ERRORS,
        {"input": {"kind": "RETURN", "warehouseId": main, "lines": [{"sku": "TEE-M", "quantity": "1"}]}},
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await viewer.ok("{ stockLevels { totalCount } }"))["stockLevels"]["totalCount"] == 0
    warehouse_user = await add_user(company, "WAREHOUSE")
    ok = await warehouse_user.ok(
        POST_ERRORS,
        {"input": {"kind": "RETURN", "warehouseId": main, "lines": [{"sku": "TEE-M", "quantity": "1"}]}},
    )
    assert ok["postStockDocument"]["userErrors"] == []
