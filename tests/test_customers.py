"""Customers and suppliers as records: create, update, list with search and filters; bad input."""

from __future__ import annotations

import pytest

from tests.conftest import Company

CREATE = """mutation($input: CreateCustomerInput!) { createCustomer(input: $input) {
  customer { id code name emails phones taxId addresses tags comment country emailConsent smsConsent }
  userErrors { field code message } } }"""
UPDATE = """mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) {
  customer { id name emails phones tags comment emailConsent } userErrors { field code message } } }"""
LIST = """query($filter: CounterpartyFilterInput, $search: String, $first: Int, $after: String) {
  customers(filter: $filter, search: $search, first: $first, after: $after) {
    totalCount nodes { name code } pageInfo { hasNextPage endCursor } } }"""
CREATE_SUPPLIER = """mutation($input: CreateSupplierInput!) { createSupplier(input: $input) {
  supplier { id name emails taxId } userErrors { field code message } } }"""


async def create(company: Company, **data: object) -> dict:
    return await company.api.mutate("createCustomer", CREATE, {"input": {"name": "Anna", **data}})


async def test_a_customer_keeps_normalised_contacts_and_consent(company):
    payload = await create(
        company,
        code="12346",
        emails=["Anna@Example.COM ", "anna@example.com"],
        phones=["+7 (900) 123-45-67"],
        taxId="7701234567",
        addresses=["Moscow, Tverskaya 1"],
        tags=["VIP", "wholesale"],
        comment="Prefers calls",
        country="Russia",
        emailConsent=True,
    )
    customer = payload["customer"]
    assert customer["emails"] == ["anna@example.com"]
    assert customer["phones"] == ["+79001234567"]
    assert customer["tags"] == ["vip", "wholesale"]
    assert customer["emailConsent"] is True and customer["smsConsent"] is False


async def test_updating_changes_only_the_fields_given(company):
    created = (await create(company, emails=["a@example.com"], comment="first"))["customer"]
    updated = await company.api.mutate(
        "updateCustomer", UPDATE, {"input": {"id": created["id"], "comment": "second"}}
    )
    assert updated["customer"]["comment"] == "second"
    assert updated["customer"]["emails"] == ["a@example.com"]
    assert updated["customer"]["name"] == "Anna"


async def test_customers_are_found_by_name_code_email_phone_and_filtered_by_tag_and_country(company):
    await create(
        company, name="Anna Petrova", code="C-1", emails=["anna@shop.ru"], tags=["vip"], country="Russia"
    )
    await create(company, name="Boris", code="C-2", phones=["+44 20 7946 0958"], tags=["vipx"], country="UK")
    await create(company, name="Clara", code="C-3", tags=["vip", "new"], country="UK")

    async def names(**variables: object) -> list[str]:
        data = await company.api.ok(LIST, variables)
        return sorted(n["name"] for n in data["customers"]["nodes"])

    assert await names(search="petrova") == ["Anna Petrova"]
    assert await names(search="C-2") == ["Boris"]
    assert await names(search="anna@shop") == ["Anna Petrova"]
    assert await names(search="+442079460958") == ["Boris"]
    assert await names(filter={"tags": ["vip"]}) == ["Anna Petrova", "Clara"]
    assert await names(filter={"tags": ["vip"], "country": "UK"}) == ["Clara"]


async def test_customers_page_through_in_name_order(company):
    for name in ["Eve", "Dan", "Ann", "Bob", "Cat"]:
        await create(company, name=name)
    page = (await company.api.ok(LIST, {"first": 2}))["customers"]
    assert [n["name"] for n in page["nodes"]] == ["Ann", "Bob"] and page["totalCount"] == 5
    rest = (await company.api.ok(LIST, {"first": 10, "after": page["pageInfo"]["endCursor"]}))["customers"]
    assert [n["name"] for n in rest["nodes"]] == ["Cat", "Dan", "Eve"]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"name": ""}, "REQUIRED"),
        ({"name": "x" * 301}, "TOO_LONG"),
        ({"emails": ["not-an-email"]}, "INVALID_EMAIL"),
        ({"phones": ["12"]}, "INVALID_PHONE"),
        ({"comment": "x" * 10001}, "TOO_LONG"),
        ({"tags": ["x" * 65]}, "TOO_LONG"),
    ],
)
async def test_bad_customer_input_is_refused_and_creates_nothing(company, data, code):
    body = await company.api.ok(CREATE, {"input": {"name": "Anna", **data}})
    assert code in [e["code"] for e in body["createCustomer"]["userErrors"]]
    assert body["createCustomer"]["customer"] is None
    assert (await company.api.ok(LIST))["customers"]["totalCount"] == 0


async def test_a_duplicate_customer_code_is_refused(company):
    await create(company, code="C-1")
    body = await company.api.ok(CREATE, {"input": {"name": "Other", "code": "C-1"}})
    assert body["createCustomer"]["userErrors"][0]["code"] == "DUPLICATE"


async def test_a_bad_update_changes_nothing(company):
    created = (await create(company, emails=["a@example.com"]))["customer"]
    body = await company.api.ok(UPDATE, {"input": {"id": created["id"], "name": "", "comment": "changed"}})
    assert body["updateCustomer"]["userErrors"][0]["code"] == "REQUIRED"
    data = await company.api.ok(
        "query($id: ID!) { customer(id: $id) { name comment } }", {"id": created["id"]}
    )
    assert data["customer"] == {"name": "Anna", "comment": ""}


async def test_suppliers_are_records_too(company):
    payload = await company.api.mutate(
        "createSupplier",
        CREATE_SUPPLIER,
        {"input": {"name": "Acme", "emails": ["Sales@Acme.example"], "taxId": "123"}},
    )
    assert payload["supplier"]["emails"] == ["sales@acme.example"]
    listed = await company.api.ok('{ suppliers(filter: {search: "acme"}) { nodes { name } } }')
    assert listed["suppliers"]["nodes"] == [{"name": "Acme"}]
