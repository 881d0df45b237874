"""Accounts and access: sign-up, log-in, roles, API tokens, revocation and deactivation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.accounts import AccessToken, User
from services.accounts import hash_token
from tests.conftest import SIGN_UP, Api, Company

LOG_IN = """mutation($input: LogInInput!) { logIn(input: $input) { token user { email role } userErrors { field code message } } }"""
CREATE_USER = """mutation($input: CreateUserInput!) { createUser(input: $input) { user { id email role } userErrors { field code message } } }"""
CREATE_TOKEN = """mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) {
  token apiToken { id name scopes } userErrors { field code message } } }"""
UPSERT_ONE = """mutation { upsertProducts(input: {products: [{article: "A", name: "a"}]}) { products { id } userErrors { code } } }"""


async def add_user(company: Company, role: str) -> Api:
    email = f"{role.lower()}-{company.user_id[:8]}@example.com"
    await company.api.mutate(
        "createUser",
        CREATE_USER,
        {"input": {"email": email, "password": "secret-pass-1", "role": role, "name": role}},
    )
    logged = (
        await Api(company.api.http).ok(LOG_IN, {"input": {"email": email, "password": "secret-pass-1"}})
    )["logIn"]
    assert logged["userErrors"] == [] and logged["user"]["role"] == role
    return company.api.as_(logged["token"])


async def add_token(company: Company, scopes: list[str]) -> Api:
    payload = await company.api.mutate(
        "createApiToken", CREATE_TOKEN, {"input": {"name": "store", "scopes": scopes}}
    )
    return company.api.as_(payload["token"])


def code_of(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


async def test_log_in_returns_a_session_for_the_right_password(company):
    body = await Api(company.api.http).ok(
        LOG_IN, {"input": {"email": company.email.upper(), "password": company.password}}
    )
    token = body["logIn"]["token"]
    me = await company.api.as_(token).ok("{ me { email } }")
    assert me["me"]["email"] == company.email


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(company):
    anonymous = Api(company.api.http)
    wrong = (await anonymous.ok(LOG_IN, {"input": {"email": company.email, "password": "wrong-password"}}))[
        "logIn"
    ]
    unknown = (
        await anonymous.ok(LOG_IN, {"input": {"email": "nobody@example.com", "password": "wrong-password"}})
    )["logIn"]
    assert wrong == unknown
    assert wrong["token"] is None and wrong["userErrors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_signing_up_twice_with_one_email_is_refused(company):
    body = await Api(company.api.http).ok(
        SIGN_UP, {"input": {"companyName": "Again", "email": company.email, "password": "another-pass"}}
    )
    assert body["signUp"]["userErrors"][0]["code"] == "EMAIL_TAKEN"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"email": "not-an-email"}, "INVALID_EMAIL"),
        ({"password": "short"}, "TOO_SHORT"),
        ({"companyName": ""}, "REQUIRED"),
        ({"companyName": "x" * 201}, "TOO_LONG"),
        ({"currency": "RUBLES"}, "INVALID"),
        ({"timezone": "Mars/Olympus"}, "INVALID"),
    ],
)
async def test_bad_sign_up_input_is_refused_and_creates_nothing(client, change, code):
    email = "fresh-user@example.com"
    data = {"companyName": "Shop", "email": email, "password": "long-enough-pass", **change}
    body = await Api(client).ok(SIGN_UP, {"input": data})
    assert code in [e["code"] for e in body["signUp"]["userErrors"]]
    assert not await User.filter(email=data["email"]).exists()


async def test_passwords_are_kept_as_argon2_hashes_and_tokens_only_as_hashes(company):
    user = await User.get(id=company.user_id)
    assert user.password_hash.startswith("$argon2id$")
    assert company.password not in user.password_hash
    assert len(company.token) >= 43  # 32 random bytes, base64
    stored = await AccessToken.filter(user_id=company.user_id).values_list("token_hash", flat=True)
    assert hash_token(company.token) in stored
    assert all(company.token not in s for s in stored)


async def test_calls_without_a_token_are_unauthenticated(client):
    body = await Api(client).raw("{ me { id } }")
    assert code_of(body) == "UNAUTHENTICATED"
    body = await Api(client, "bos_made_up").raw("{ me { id } }")
    assert code_of(body) == "UNAUTHENTICATED"


async def test_a_viewer_can_read_but_not_change_anything(company):
    viewer = await add_user(company, "VIEWER")
    assert (await viewer.ok("{ products { totalCount } }"))["products"]["totalCount"] == 0
    body = await viewer.raw(UPSERT_ONE)
    assert code_of(body) == "FORBIDDEN"
    assert (await company.api.ok("{ products { totalCount } }"))["products"]["totalCount"] == 0


async def test_a_warehouse_user_cannot_manage_users_or_tokens(company):
    warehouse = await add_user(company, "WAREHOUSE")
    body = await warehouse.raw(
        CREATE_USER, {"input": {"email": "x@example.com", "password": "secret-pass-1", "role": "VIEWER"}}
    )
    assert code_of(body) == "FORBIDDEN"
    body = await warehouse.raw(CREATE_TOKEN, {"input": {"name": "t", "scopes": ["CATALOG_READ"]}})
    assert code_of(body) == "FORBIDDEN"
    assert not await User.filter(email="x@example.com").exists()


async def test_an_admin_cannot_create_an_owner(company):
    admin = await add_user(company, "ADMIN")
    body = await admin.ok(
        CREATE_USER, {"input": {"email": "o2@example.com", "password": "secret-pass-1", "role": "OWNER"}}
    )
    assert body["createUser"]["userErrors"][0]["code"] == "ROLE_TOO_HIGH"


async def test_a_catalog_read_token_can_read_but_not_write(company):
    store = await add_token(company, ["CATALOG_READ"])
    assert (await store.ok("{ products { totalCount } }"))["products"]["totalCount"] == 0
    assert code_of(await store.raw(UPSERT_ONE)) == "FORBIDDEN"
    assert code_of(await store.raw("{ customers { totalCount } }")) == "FORBIDDEN"


async def test_a_catalog_write_token_can_upsert_products(company):
    store = await add_token(company, ["CATALOG_WRITE", "CATALOG_READ"])
    payload = (await store.ok(UPSERT_ONE))["upsertProducts"]
    assert payload["userErrors"] == []


async def test_a_token_cannot_be_given_a_management_scope(company):
    body = await company.api.raw(CREATE_TOKEN, {"input": {"name": "t", "scopes": ["USERS_MANAGE"]}})
    assert body["errors"]  # not a Scope value: refused by the schema itself


async def test_a_revoked_token_stops_working_at_once(company):
    payload = await company.api.mutate(
        "createApiToken", CREATE_TOKEN, {"input": {"name": "s", "scopes": ["CATALOG_READ"]}}
    )
    store = company.api.as_(payload["token"])
    await store.ok("{ products { totalCount } }")
    revoked = await company.api.mutate(
        "revokeApiToken",
        "mutation($id: ID!) { revokeApiToken(input: {tokenId: $id}) { apiToken { revokedAt } userErrors { code } } }",
        {"id": payload["apiToken"]["id"]},
    )
    assert revoked["apiToken"]["revokedAt"]
    assert code_of(await store.raw("{ products { totalCount } }")) == "UNAUTHENTICATED"


async def test_an_expired_session_is_unauthenticated(company):
    await AccessToken.filter(token_hash=hash_token(company.token)).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert code_of(await company.api.raw("{ me { id } }")) == "UNAUTHENTICATED"


async def test_logging_out_ends_the_session(company):
    await company.api.mutate("logOut", "mutation { logOut { ok userErrors { code } } }")
    assert code_of(await company.api.raw("{ me { id } }")) == "UNAUTHENTICATED"


async def test_deactivating_a_user_ends_their_sessions_and_tokens_and_login(company):
    manager = await add_user(company, "MANAGER")
    me = (await manager.ok("{ me { id email } }"))["me"]
    payload = await company.api.mutate(
        "deactivateUser",
        "mutation($id: ID!) { deactivateUser(input: {userId: $id}) { user { isActive } userErrors { code } } }",
        {"id": me["id"]},
    )
    assert payload["user"]["isActive"] is False
    assert code_of(await manager.raw("{ me { id } }")) == "UNAUTHENTICATED"
    again = await Api(company.api.http).ok(
        LOG_IN, {"input": {"email": me["email"], "password": "secret-pass-1"}}
    )
    assert again["logIn"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_an_owner_cannot_deactivate_themselves(company):
    body = await company.api.ok(
        "mutation($id: ID!) { deactivateUser(input: {userId: $id}) { userErrors { code } } }",
        {"id": company.user_id},
    )
    assert body["deactivateUser"]["userErrors"][0]["code"] == "SELF"
