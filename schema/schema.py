"""Assembles Query, Mutation and Subscription from the domains, with the limits and error handling."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from api.settings import QueryLimits
from schema.accounts import AccountsMutation, AccountsQuery
from schema.catalog import CatalogMutation, CatalogQuery
from schema.customers import CustomersMutation, CustomersQuery
from schema.errors import ErrorPresenter
from schema.limits import QueryLimitsExtension

QUERIES = (AccountsQuery, CatalogQuery, CustomersQuery)
MUTATIONS = (AccountsMutation, CatalogMutation, CustomersMutation)


def build_schema(limits: QueryLimits | None = None) -> strawberry.Schema:
    limits = limits or QueryLimits()
    query = merge_types("Query", QUERIES)
    mutation = merge_types("Mutation", MUTATIONS)
    return strawberry.Schema(
        query=query,
        mutation=mutation,
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            lambda: QueryLimitsExtension(limits=limits),
            ErrorPresenter,
        ],
        config=StrawberryConfig(disable_field_suggestions=True, relay_max_results=250),
    )
