"""Bad stock input gets a clear user error and changes nothing: levels, ledger, documents, costs."""

from __future__ import annotations

import uuid

import pytest

from services import inventory
from services.inventory import ReservationRequest
from tests.test_inventory_helpers import add_variants, gql_warehouse, levels, owner, post, post_ok, snapshot


@pytest.fixture
async def shop(company, other_company):
    """A company with 5 PCS of A and 2.5 KG of FLOUR in Main, an empty Spare, and a foreign company."""
    actor = owner(company)
    variants = await add_variants(actor, ["A", "B"])
    variants |= await add_variants(actor, ["FLOUR"], unit="KG")
    main = await gql_warehouse(company, "Main")
    spare = await gql_warehouse(company, "Spare")
    await post_ok(
        company,
        kind="RECEIPT",
        warehouseId=main,
        lines=[
            {"sku": "A", "quantity": "5", "unitCost": "1.00"},
            {"sku": "FLOUR", "quantity": "2.5", "unitCost": "3.00"},
        ],
    )
    foreign_variants = await add_variants(owner(other_company), ["A", "Z"])
    foreign_main = await gql_warehouse(other_company, "Main")
    await post_ok(
        other_company,
        kind="RECEIPT",
        warehouseId=foreign_main,
        lines=[{"sku": "Z", "quantity": "9", "unitCost": "1.00"}],
    )
    return {
        "company": company,
        "other": other_company,
        "account_id": actor.account_id,
        "variants": variants,
        "main": main,
        "spare": spare,
        "foreign_main": foreign_main,
        "foreign_variant": str(foreign_variants["Z"]),
    }


async def assert_refused(shop, document: dict, code: str, field: list[str] | None) -> str:
    """Posts the document, expects exactly this error, and that neither account changed."""
    before = await snapshot(shop["account_id"])
    foreign_before = await snapshot(owner(shop["other"]).account_id)
    payload = await post(shop["company"], **document)
    assert payload["document"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, field)], payload["userErrors"]
    message = payload["userErrors"][0]["message"]
    assert message
    assert await snapshot(shop["account_id"]) == before
    assert await snapshot(owner(shop["other"]).account_id) == foreign_before
    return message


def line(sku="A", quantity="1", **extra) -> dict:
    return {"sku": sku, "quantity": quantity, **extra}


@pytest.mark.parametrize("kind", ["RECEIPT", "SHIPMENT", "TRANSFER", "WRITE_OFF", "RETURN"])
@pytest.mark.parametrize(("quantity", "code"), [("0", "ZERO"), ("-1", "NEGATIVE")])
async def test_zero_and_negative_quantities_are_refused(shop, kind, quantity, code):
    document = {"kind": kind, "warehouseId": shop["main"], "reason": "r", "lines": [line(quantity=quantity)]}
    if kind == "RECEIPT":
        document["lines"][0]["unitCost"] = "1.00"
    if kind == "TRANSFER":
        document["toWarehouseId"] = shop["spare"]
    await assert_refused(shop, document, code, ["lines", "0", "quantity"])


@pytest.mark.parametrize(
    ("sku", "quantity"), [("A", "1.5"), ("A", "0.001"), ("FLOUR", "0.0005"), ("FLOUR", "1.2345")]
)
async def test_more_decimals_than_the_unit_allows_are_refused(shop, sku, quantity):
    document = {"kind": "SHIPMENT", "warehouseId": shop["main"], "lines": [line(), line(sku, quantity)]}
    message = await assert_refused(shop, document, "TOO_MANY_DECIMALS", ["lines", "1", "quantity"])
    assert ("whole number" in message) if sku == "A" else ("3 decimals" in message)


async def test_a_transfer_to_the_same_warehouse_is_refused(shop):
    document = {
        "kind": "TRANSFER",
        "warehouseId": shop["main"],
        "toWarehouseId": shop["main"],
        "lines": [line()],
    }
    await assert_refused(shop, document, "SAME_WAREHOUSE", ["toWarehouseId"])


@pytest.mark.parametrize("kind", ["SHIPMENT", "WRITE_OFF", "TRANSFER"])
async def test_taking_out_more_than_on_hand_is_refused_and_names_the_sku_and_what_is_there(shop, kind):
    document = {
        "kind": kind,
        "warehouseId": shop["main"],
        "reason": "broken",
        # The first line fits on its own: the whole document is refused all the same.
        "lines": [line("FLOUR", "1"), line("A", "6")],
    }
    if kind == "TRANSFER":
        document["toWarehouseId"] = shop["spare"]
    message = await assert_refused(shop, document, "INSUFFICIENT_STOCK", ["lines", "1", "quantity"])
    assert "A" in message and "6 wanted" in message and "5 free" in message


async def test_two_lines_of_one_variant_are_checked_together(shop):
    document = {"kind": "SHIPMENT", "warehouseId": shop["main"], "lines": [line("A", "3"), line("A", "3")]}
    before = await snapshot(shop["account_id"])
    payload = await post(shop["company"], **document)
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INSUFFICIENT_STOCK", ["lines", "0", "quantity"]),
        ("INSUFFICIENT_STOCK", ["lines", "1", "quantity"]),
    ]
    assert await snapshot(shop["account_id"]) == before


async def test_an_unknown_sku_is_refused(shop):
    document = {"kind": "RETURN", "warehouseId": shop["main"], "lines": [line(), line("NO-SUCH-SKU")]}
    message = await assert_refused(shop, document, "NOT_FOUND", ["lines", "1", "sku"])
    assert "NO-SUCH-SKU" in message


async def test_another_accounts_sku_is_unknown_here(shop):
    document = {"kind": "RETURN", "warehouseId": shop["main"], "lines": [line("Z")]}
    await assert_refused(shop, document, "NOT_FOUND", ["lines", "0", "sku"])


@pytest.mark.parametrize("raw", ["foreign", "malformed", "missing"])
async def test_another_accounts_variant_is_not_found(shop, raw):
    variant_id = {"foreign": shop["foreign_variant"], "malformed": "nope", "missing": str(uuid.uuid4())}[raw]
    document = {
        "kind": "RETURN",
        "warehouseId": shop["main"],
        "lines": [{"variantId": variant_id, "quantity": "1"}],
    }
    await assert_refused(shop, document, "NOT_FOUND", ["lines", "0", "variantId"])


@pytest.mark.parametrize("side", ["warehouseId", "toWarehouseId"])
async def test_another_accounts_warehouse_is_not_found(shop, side):
    document = {
        "kind": "TRANSFER",
        "warehouseId": shop["main"],
        "toWarehouseId": shop["spare"],
        "lines": [line()],
    }
    document[side] = shop["foreign_main"]
    await assert_refused(shop, document, "NOT_FOUND", [side])


async def test_a_count_with_a_negative_figure_is_refused(shop):
    document = {
        "kind": "COUNT",
        "warehouseId": shop["main"],
        "lines": [line("A", "3"), line("FLOUR", "-0.5")],
    }
    await assert_refused(shop, document, "NEGATIVE", ["lines", "1", "quantity"])


async def test_counting_one_variant_twice_in_a_document_is_refused(shop):
    document = {"kind": "COUNT", "warehouseId": shop["main"], "lines": [line("A", "3"), line("A", "4")]}
    await assert_refused(shop, document, "DUPLICATE", ["lines", "1", "variantId"])


@pytest.mark.parametrize(
    ("document", "code", "field"),
    [
        ({"kind": "RECEIPT", "lines": [line()]}, "REQUIRED", ["lines", "0", "unitCost"]),
        ({"kind": "RECEIPT", "lines": [line(unitCost="-1.00")]}, "NEGATIVE", ["lines", "0", "unitCost"]),
        (
            {"kind": "RECEIPT", "lines": [line(unitCost="1.001")]},
            "TOO_MANY_DECIMALS",
            ["lines", "0", "unitCost"],
        ),
        ({"kind": "RETURN", "lines": [line(unitCost="1.00")]}, "INVALID", ["lines", "0", "unitCost"]),
        ({"kind": "WRITE_OFF", "lines": [line()]}, "REQUIRED", ["reason"]),
        ({"kind": "WRITE_OFF", "reason": "  ", "lines": [line()]}, "REQUIRED", ["reason"]),
        ({"kind": "TRANSFER", "lines": [line()]}, "REQUIRED", ["toWarehouseId"]),
        ({"kind": "RETURN", "lines": []}, "REQUIRED", ["lines"]),
        ({"kind": "RETURN", "lines": [{"quantity": "1"}]}, "INVALID", ["lines", "0"]),
        (
            {"kind": "RETURN", "lines": [{"sku": "A", "variantId": "x", "quantity": "1"}]},
            "INVALID",
            ["lines", "0"],
        ),
        ({"kind": "RETURN", "comment": "x" * 2001, "lines": [line()]}, "TOO_LONG", ["comment"]),
    ],
)
async def test_other_incomplete_documents_are_refused(shop, document, code, field):
    await assert_refused(shop, {"warehouseId": shop["main"], **document}, code, field)


async def test_a_return_to_another_accounts_warehouse_through_the_service_is_not_found(shop):
    before = await snapshot(shop["account_id"])
    request = ReservationRequest(
        uuid.uuid4(), uuid.UUID(shop["foreign_main"]), shop["variants"]["A"], 1000, ("x",)
    )
    with pytest.raises(inventory.InvalidInput) as caught:
        await inventory.return_to_stock(shop["account_id"], [request], user_id=None, reference="r")
    assert [(p.code, p.field) for p in caught.value.problems] == [("NOT_FOUND", ("x",))]
    assert await snapshot(shop["account_id"]) == before


async def test_on_hand_five_with_five_reserved_shows_free_now_and_available_zero(shop):
    await inventory.reserve_stock(
        shop["account_id"],
        [ReservationRequest(uuid.uuid4(), uuid.UUID(shop["main"]), shop["variants"]["A"], 5000)],
        allow_backorders=False,
    )
    node = (await levels(shop["company"]))[("Main", "A")]
    assert (node["onHand"], node["reserved"], node["incoming"]) == ("5", "5", "0")
    assert (node["freeNow"], node["available"]) == ("0", "0")
    totals = await shop["company"].api.ok(
        '{ stockTotals(filter: {skus: ["A"]}) { nodes { freeNow available } } }'
    )
    assert totals["stockTotals"]["nodes"] == [{"freeNow": "0", "available": "0"}]
    # And nothing more can be reserved or shipped from it.
    with pytest.raises(inventory.InvalidInput):
        await inventory.reserve_stock(
            shop["account_id"],
            [ReservationRequest(uuid.uuid4(), uuid.UUID(shop["main"]), shop["variants"]["A"], 1000)],
            allow_backorders=False,
        )
    await assert_refused(
        shop,
        {"kind": "SHIPMENT", "warehouseId": shop["main"], "lines": [line()]},
        "INSUFFICIENT_STOCK",
        ["lines", "0", "quantity"],
    )
