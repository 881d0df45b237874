"""Query limits: abusive documents get a clear error and never run; every answer reports its cost."""

from __future__ import annotations

import logging

import pytest
import strawberry
from graphql import get_introspection_query

from api.settings import QueryLimits
from schema.errors import ErrorPresenter
from tests.conftest import Api

LIMITS = QueryLimits()


def nested_fields(levels: int) -> str:
    # me { account { ... } } cannot nest; productGroups { parent { parent { ... } } } can, to any depth.
    inner = "id"
    for _ in range(levels - 2):
        inner = f"parent {{ {inner} }}"
    return f"{{ productGroups {{ {inner} }} }}"


def limit_of(body: dict) -> list[str]:
    return [(e.get("extensions") or {}).get("limit", "") for e in body.get("errors") or []]


async def test_a_query_nested_50_levels_is_refused_before_it_runs(company):
    body = await company.api.raw(nested_fields(50))
    assert "MAX_DEPTH" in limit_of(body)
    assert body.get("data") is None
    assert "nested 50 levels" in body["errors"][0]["message"]


@pytest.mark.parametrize("fragment_name", ["__schema", "Deep", "__type"])
async def test_depth_hidden_in_fragments_is_counted_whatever_they_are_named(company, fragment_name):
    # Ten fragments, each nesting five levels and spreading the next: 50 levels in all.
    names = [fragment_name] + [f"F{i}" for i in range(1, 10)]
    fragments = []
    for index, name in enumerate(names):
        tail = f"...{names[index + 1]}" if index + 1 < len(names) else "id"
        fragments.append(
            f"fragment {name} on ProductGroup {{ parent {{ parent {{ parent {{ parent {{ parent {{ {tail} }} }} }} }} }} }}"
        )
    document = f"{{ productGroups {{ ...{names[0]} }} }} " + " ".join(fragments)
    body = await company.api.raw(document)
    assert "MAX_DEPTH" in limit_of(body), body
    assert body.get("data") is None


async def test_a_query_within_the_depth_limit_runs(company):
    body = await company.api.raw(nested_fields(LIMITS.max_depth))
    assert not body.get("errors"), body


async def test_a_thousand_aliases_are_refused(company):
    document = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(1000)) + " }"
    body = await company.api.raw(document)
    assert body.get("data") is None
    assert body["errors"]


async def test_aliases_over_the_limit_are_refused_with_the_number(company):
    document = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(LIMITS.max_aliases + 1)) + " }"
    body = await company.api.raw(document)
    assert "MAX_ALIASES" in limit_of(body)
    assert str(LIMITS.max_aliases) in body["errors"][0]["message"]


async def test_one_field_selected_ten_thousand_times_is_refused_at_parse_time(company):
    document = "{ me { " + "id " * 10_000 + "} }"
    body = await company.api.raw(document)
    assert body.get("data") is None
    assert "token" in body["errors"][0]["message"].lower()


async def test_a_request_body_over_the_limit_gets_413_and_is_not_read(company):
    padding = "x" * (2 * 1024 * 1024)
    response = await company.api.http.post(
        "/graphql",
        json={"query": "{ me { id } }", "variables": {"pad": padding}},
        headers={"Authorization": f"Bearer {company.token}"},
    )
    assert response.status_code == 413


async def test_an_expensive_query_is_refused_with_its_cost(company):
    # Each page of 250 products with 7 objects per product costs 2 + 250 × 7 = 1752; four cost 7008.
    page = "products(first: 250) { nodes { variants { prices { priceType { code } } } group { parent { parent { name } } } } }"
    document = "{ " + " ".join(f"p{i}: {page}" for i in range(4)) + " }"
    body = await company.api.raw(document)
    assert "MAX_COST" in limit_of(body), body
    assert body.get("data") is None


async def test_every_answer_reports_its_cost(company):
    body = await company.api.raw("{ products(first: 10) { nodes { variants { sku } } } }")
    assert body["extensions"]["cost"] == {"requested": 2 + 10 * 2, "limit": LIMITS.max_cost}


async def test_cost_follows_first_given_as_a_variable(company):
    body = await company.api.raw(
        "query($n: Int) { products(first: $n) { nodes { group { name } } } }", {"n": 100}
    )
    assert body["extensions"]["cost"]["requested"] == 2 + 100 * 2


async def test_graphiqls_introspection_query_runs(client):
    body = await Api(client).raw(get_introspection_query(descriptions=True))
    assert not body.get("errors"), body["errors"]
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_field_suggestions_are_not_given(company):
    body = await company.api.raw("{ me { emial } }")
    assert "Did you mean" not in body["errors"][0]["message"]


@strawberry.type
class Broken:
    @strawberry.field
    def crash(self) -> str:
        raise RuntimeError("secret detail: password=hunter2")


async def test_unexpected_errors_are_masked_logged_and_carry_the_request_id(caplog):
    schema = strawberry.Schema(query=Broken, extensions=[ErrorPresenter])

    class Ctx:
        request_id = "req-123"

    with caplog.at_level(logging.ERROR, logger="backoffice.errors"):
        result = await schema.execute("{ crash }", context_value=Ctx())
    error = result.errors[0]
    assert "hunter2" not in error.message
    assert "req-123" in error.message
    assert error.extensions == {"code": "INTERNAL_ERROR", "requestId": "req-123"}
    assert any("req-123" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_client_mistakes_are_not_logged_as_server_errors(company, caplog):
    with caplog.at_level(logging.ERROR):
        await company.api.raw('{ variantBySku(sku: "nope") { id } }')
        await company.api.raw("{ products(first: 251) { totalCount } }")
        await company.api.raw("{ me { nosuchfield } }")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
