"""Warehouses of three kinds: create, update, archive, list."""

from __future__ import annotations

from tests.test_inventory_helpers import (
    CREATE_WAREHOUSE,
    ERRORS,
    add_variants,
    gql_warehouse,
    owner,
    post,
    post_ok,
)

CREATE_SUPPLIER = """mutation($input: CreateSupplierInput!) { createSupplier(input: $input) {
  supplier { id } userErrors { code } } }"""
UPDATE = f"""mutation($input: UpdateWarehouseInput!) {{ updateWarehouse(input: $input) {{
  warehouse {{ id name kind supplier {{ id }} }} {ERRORS} }} }}"""
ARCHIVE = f"""mutation($input: ArchiveWarehouseInput!) {{ archiveWarehouse(input: $input) {{
  warehouse {{ id archived }} {ERRORS} }} }}"""
LIST = """query($filter: WarehouseFilterInput) {
  warehouses(filter: $filter) { nodes { name kind } totalCount } }"""


async def supplier(company, name: str = "Maker") -> str:
    return (await company.api.mutate("createSupplier", CREATE_SUPPLIER, {"input": {"name": name}}))[
        "supplier"
    ]["id"]


async def create(company, **data) -> dict:
    return (await company.api.ok(CREATE_WAREHOUSE, {"input": data}))["createWarehouse"]


async def test_warehouses_of_three_kinds_and_a_supplier_warehouse_belongs_to_its_supplier(company):
    maker = await supplier(company)
    own = await create(company, name="Main")
    courier = await create(company, name="Courier", kind="DELIVERY_SERVICE")
    theirs = await create(company, name="Maker stock", kind="SUPPLIER", supplierId=maker)
    assert own["warehouse"]["kind"] == "OWN" and own["warehouse"]["supplier"] is None
    assert courier["warehouse"]["kind"] == "DELIVERY_SERVICE"
    assert theirs["warehouse"]["supplier"] == {"id": maker, "name": "Maker"}
    listed = (await company.api.ok(LIST))["warehouses"]
    assert [n["name"] for n in listed["nodes"]] == ["Courier", "Main", "Maker stock"]
    only = (await company.api.ok(LIST, {"filter": {"kinds": ["SUPPLIER", "OWN"]}}))["warehouses"]
    assert [n["name"] for n in only["nodes"]] == ["Main", "Maker stock"]


async def test_bad_warehouse_input_is_refused_and_creates_nothing(company, other_company):
    maker = await supplier(company)
    foreign = await supplier(other_company)
    await create(company, name="Main")
    cases = [
        ({"name": "X", "kind": "SUPPLIER"}, "REQUIRED", ["supplierId"]),
        ({"name": "X", "kind": "SUPPLIER", "supplierId": foreign}, "NOT_FOUND", ["supplierId"]),
        ({"name": "X", "kind": "OWN", "supplierId": maker}, "INVALID", ["supplierId"]),
        ({"name": " "}, "REQUIRED", ["name"]),
        ({"name": "Main"}, "DUPLICATE", ["name"]),
    ]
    for data, code, field in cases:
        payload = await create(company, **data)
        assert payload["warehouse"] is None
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, field)], data
    assert (await company.api.ok(LIST))["warehouses"]["totalCount"] == 1


async def test_a_warehouse_is_renamed_and_changes_kind_with_its_supplier(company):
    maker = await supplier(company)
    main = await gql_warehouse(company, "Main")
    renamed = (await company.api.ok(UPDATE, {"input": {"id": main, "name": "Central"}}))["updateWarehouse"]
    assert renamed["warehouse"]["name"] == "Central"
    refused = (await company.api.ok(UPDATE, {"input": {"id": main, "kind": "SUPPLIER"}}))["updateWarehouse"]
    assert [e["code"] for e in refused["userErrors"]] == ["REQUIRED"]
    moved = await company.api.ok(UPDATE, {"input": {"id": main, "kind": "SUPPLIER", "supplierId": maker}})
    assert moved["updateWarehouse"]["warehouse"]["supplier"] == {"id": maker}
    back = (await company.api.ok(UPDATE, {"input": {"id": main, "kind": "OWN"}}))["updateWarehouse"]
    assert back["warehouse"]["kind"] == "OWN" and back["warehouse"]["supplier"] is None


async def test_a_warehouse_holding_stock_is_not_archived_and_an_archived_one_takes_no_documents(company):
    await add_variants(owner(company), ["A"])
    main = await gql_warehouse(company, "Main")
    spare = await gql_warehouse(company, "Spare")
    await post_ok(
        company, kind="RECEIPT", warehouseId=main, lines=[{"sku": "A", "quantity": "1", "unitCost": "1.00"}]
    )
    refused = (await company.api.ok(ARCHIVE, {"input": {"id": main}}))["archiveWarehouse"]
    assert [e["code"] for e in refused["userErrors"]] == ["NOT_EMPTY"]
    archived = (await company.api.ok(ARCHIVE, {"input": {"id": spare}}))["archiveWarehouse"]
    assert archived["warehouse"]["archived"] is True
    assert [n["name"] for n in (await company.api.ok(LIST))["warehouses"]["nodes"]] == ["Main"]
    both = await company.api.ok(LIST, {"filter": {"archived": None}})
    assert both["warehouses"]["totalCount"] == 2
    payload = await post(company, kind="RETURN", warehouseId=spare, lines=[{"sku": "A", "quantity": "1"}])
    assert [e["code"] for e in payload["userErrors"]] == ["ARCHIVED"]
    back = (await company.api.ok(ARCHIVE, {"input": {"id": spare, "archived": False}}))["archiveWarehouse"]
    assert back["warehouse"]["archived"] is False


async def test_another_accounts_warehouse_is_not_found_for_every_warehouse_mutation(company, other_company):
    theirs = await gql_warehouse(other_company, "Theirs")
    for document, variables, name in (
        (UPDATE, {"input": {"id": theirs, "name": "Mine"}}, "updateWarehouse"),
        (ARCHIVE, {"input": {"id": theirs}}, "archiveWarehouse"),
    ):
        payload = (await company.api.ok(document, variables))[name]
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("NOT_FOUND", ["id"])]
    names = [n["name"] for n in (await other_company.api.ok(LIST))["warehouses"]["nodes"]]
    assert names == ["Theirs"]
