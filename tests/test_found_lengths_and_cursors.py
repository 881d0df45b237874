"""Values that do not fit a column, and forged cursors, get a clear error, never a masked one."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import Api


def code_of(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


async def test_a_lookup_longer_than_its_column_is_a_clear_error(company):
    body = await company.api.raw("query($s: String!) { variantBySku(sku: $s) { id } }", {"s": "x" * 300})
    assert code_of(body) in ("BAD_USER_INPUT", "NOT_FOUND"), body
    body = await company.api.raw(
        "query($s: [String!]) { stockLevels(filter: {skus: $s}) { totalCount } }", {"s": ["x" * 300]}
    )
    assert code_of(body) in ("BAD_USER_INPUT", "NOT_FOUND"), body


async def test_logging_in_with_an_overlong_email_is_a_clear_error(client):
    body = await Api(client).raw(
        'mutation($e: String!) { logIn(input: {email: $e, password: "whatever-pass"}) { token userErrors { code } } }',
        {"e": "x" * 300 + "@example.com"},
    )
    codes = [e["extensions"]["code"] for e in body.get("errors") or []] + [
        e["code"] for e in ((body.get("data") or {}).get("logIn") or {}).get("userErrors", [])
    ]
    assert codes and "INTERNAL_ERROR" not in codes, body


def forged(payload: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        forged(["v", "not-a-number", "00000000-0000-0000-0000-000000000000"]),
        forged(["v", 10**30, "00000000-0000-0000-0000-000000000000"]),
        forged(["v", [1, 2], "00000000-0000-0000-0000-000000000000"]),
        forged(["t", "2020-01-01T00:00:00", "00000000-0000-0000-0000-000000000000"]),
        "%%%not-base64",
    ],
)
async def test_a_forged_cursor_is_refused_clearly(company, cursor):
    for query in (
        "query($a: String) { orders(after: $a) { totalCount } }",
        "query($a: String) { products(after: $a) { totalCount } }",
        "query($a: String) { customers(after: $a) { totalCount } }",
    ):
        body = await company.api.raw(query, {"a": cursor})
        if (
            "not-a-number" in base64.urlsafe_b64decode(cursor + "==").decode(errors="ignore")
            and "orders" not in query
        ):
            assert not body.get("errors"), body  # a string is a fine position among articles and names
            continue
        assert code_of(body) == "BAD_USER_INPUT", (query, body)
