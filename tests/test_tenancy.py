"""Tenancy: every query and mutation that takes an id, asked by account B for account A's object,
answers NOT_FOUND and changes nothing. The calls come from the schema itself, so a new operation
is covered the day it is added (and fails here until this file knows how to make its object).
"""

from __future__ import annotations

import pytest
from tortoise import Tortoise

from models.accounts import Account
from tests.conftest import Company
from tests.schema_calls import build_call, calls_taking_ids, error_codes
from tests.test_accounts import CREATE_TOKEN, CREATE_USER
from tests.test_catalog import tshirt, upsert
from tests.test_inventory_tenancy import stock_objects
from tests.test_orders_tenancy import order_objects
from tests.test_workers_tenancy import worker_objects

CALLS = calls_taking_ids()


async def objects_of(company: Company) -> dict[str, str]:
    """One object of each kind an id can name, in `company`'s account."""
    api = company.api
    product = (await upsert(company, [tshirt()]))["products"][0]
    groups = (await api.ok("{ productGroups { id } }"))["productGroups"]
    user = await api.mutate(
        "createUser",
        CREATE_USER,
        {
            "input": {
                "email": f"v-{company.user_id[:8]}@example.com",
                "password": "secret-pass-1",
                "role": "VIEWER",
            }
        },
    )
    token = await api.mutate(
        "createApiToken", CREATE_TOKEN, {"input": {"name": "s", "scopes": ["CATALOG_READ"]}}
    )
    customer = await api.mutate(
        "createCustomer",
        'mutation { createCustomer(input: {name: "C"}) { customer { id } userErrors { code } } }',
    )
    supplier = await api.mutate(
        "createSupplier",
        'mutation { createSupplier(input: {name: "S"}) { supplier { id } userErrors { code } } }',
    )
    objects = {
        "product": product["id"],
        "variant": product["variants"][0]["id"],
        "productGroup": groups[0]["id"],
        "group": groups[0]["id"],
        "user": user["user"]["id"],
        "token": token["apiToken"]["id"],
        "apiToken": token["apiToken"]["id"],
        "customer": customer["customer"]["id"],
        "supplier": supplier["supplier"]["id"],
    }
    for make in OBJECT_MAKERS:
        objects.update(await make(company, objects))
    return objects


# Each domain's maker of its objects: async (company, objects so far) -> {kind: id}.
OBJECT_MAKERS = (stock_objects, order_objects, worker_objects)


async def snapshot(account_id: str) -> dict[str, list[dict]]:
    """Every row account A owns, in every table: what must not change."""
    rows: dict[str, list[dict]] = {"Account": await Account.filter(id=account_id).values()}
    for model in Tortoise.apps["models"].values():
        if "account_id" in model._meta.fields_map or "account" in model._meta.fk_fields:
            rows[model.__name__] = await model.filter(account_id=account_id).order_by("id").values()
    return rows


def test_the_schema_has_operations_that_take_ids():
    names = {name for _, name in CALLS}
    assert {"product", "variant", "customer", "updateCustomer", "deactivateUser", "revokeApiToken"} <= names


@pytest.mark.parametrize(("root", "field"), CALLS, ids=[f"{r}.{f}" for r, f in CALLS])
async def test_another_accounts_object_is_not_found_and_left_unchanged(company, other_company, root, field):
    objects = await objects_of(company)

    def id_for(kind: str, where: str) -> str:
        assert kind in objects, f"{where}: teach tests/test_tenancy.py to make a {kind!r} (OBJECT_MAKERS)"
        return objects[kind]

    call = build_call(root, field, id_for)
    before = await snapshot(company.account_id)
    body = await other_company.api.raw(call.document, call.variables)
    assert "NOT_FOUND" in error_codes(body, field), (call.document, call.variables, body)
    assert await snapshot(company.account_id) == before
