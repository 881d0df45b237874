"""Roles and scopes hold on every operation: each query and mutation in the schema is called
without a token, as a VIEWER, and with a read-only store token.
"""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import Api
from tests.schema_calls import build_call, error_codes, root_fields
from tests.test_accounts import add_token, add_user

PUBLIC = {"signUp", "logIn"}
ANY_SIGNED_IN = {"logOut", "me"}
# Reading needs no write permission: a VIEWER may run these.
VIEWER_QUERIES_FORBIDDEN = {"users", "apiTokens"}

QUERIES = sorted(root_fields("query"))
MUTATIONS = sorted(root_fields("mutation"))


def random_ids(kind: str, where: str) -> str:
    return str(uuid.uuid4())


@pytest.mark.parametrize("root_field", [("query", f) for f in QUERIES] + [("mutation", f) for f in MUTATIONS])
async def test_every_operation_but_sign_up_and_log_in_needs_a_token(client, root_field):
    root, field = root_field
    if field in PUBLIC:
        pytest.skip("public by design")
    call = build_call(root, field, random_ids)
    body = await Api(client).raw(call.document, call.variables)
    assert error_codes(body, field) == ["UNAUTHENTICATED"], body


@pytest.mark.parametrize("field", MUTATIONS)
async def test_a_viewer_cannot_run_any_mutation(company, field):
    if field in PUBLIC | ANY_SIGNED_IN:
        pytest.skip("not a change to the account's data")
    viewer = await add_user(company, "VIEWER")
    call = build_call("mutation", field, random_ids)
    body = await viewer.raw(call.document, call.variables)
    assert "FORBIDDEN" in error_codes(body, field), body


@pytest.mark.parametrize("field", MUTATIONS)
async def test_a_read_only_store_token_cannot_run_any_mutation(company, field):
    if field in PUBLIC | ANY_SIGNED_IN:
        pytest.skip("not a change to the account's data")
    store = await add_token(company, ["CATALOG_READ", "STOCK_READ", "ORDERS_READ", "CUSTOMERS_READ"])
    call = build_call("mutation", field, random_ids)
    body = await store.raw(call.document, call.variables)
    assert "FORBIDDEN" in error_codes(body, field), body


@pytest.mark.parametrize("field", sorted(VIEWER_QUERIES_FORBIDDEN))
async def test_a_viewer_cannot_list_users_or_tokens(company, field):
    viewer = await add_user(company, "VIEWER")
    call = build_call("query", field, random_ids)
    body = await viewer.raw(call.document, call.variables)
    assert error_codes(body, field) == ["FORBIDDEN"], body
