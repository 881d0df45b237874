"""Assembles Query, Mutation and Subscription from the domains, with the limits and error handling."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from api.settings import QueryLimits
from schema.accounts import AccountsMutation, AccountsQuery
from schema.campaigns import CampaignsMutation, CampaignsQuery
from schema.catalog import CatalogMutation, CatalogQuery
from schema.customers import CustomersMutation, CustomersQuery
from schema.dropship import DropshipMutation, DropshipQuery
from schema.errors import ErrorPresenter, is_unexpected
from schema.fiscal import FiscalMutation, FiscalQuery
from schema.inventory import InventoryMutation, InventoryQuery, InventorySubscription
from schema.limits import QueryLimitsExtension
from schema.live import LiveSubscription, OperationContext, SharedEventExecutor
from schema.orders import OrdersMutation, OrdersQuery

client_errors = logging.getLogger("backoffice.client_errors")

QUERIES = (
    AccountsQuery,
    CatalogQuery,
    CustomersQuery,
    OrdersQuery,
    InventoryQuery,
    CampaignsQuery,
    FiscalQuery,
    DropshipQuery,
)
MUTATIONS = (
    AccountsMutation,
    CatalogMutation,
    CustomersMutation,
    OrdersMutation,
    InventoryMutation,
    CampaignsMutation,
    FiscalMutation,
    DropshipMutation,
)
SUBSCRIPTIONS = (LiveSubscription, InventorySubscription)


class BackofficeSchema(strawberry.Schema):
    """Strawberry's schema, minus its habit of logging every client mistake as an ERROR with a
    traceback: schema/errors.py logs the unexpected ones (with the request id); the rest are the
    client's, answered with a clear message, and go to the debug log."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        for error in errors:
            if is_unexpected(error):
                continue  # logged by ErrorPresenter with the request id and the traceback
            client_errors.debug("client error: %s", error.message)


def build_schema(limits: QueryLimits | None = None) -> strawberry.Schema:
    limits = limits or QueryLimits()
    query = merge_types("Query", QUERIES)
    mutation = merge_types("Mutation", MUTATIONS)
    subscription = merge_types("Subscription", SUBSCRIPTIONS)
    return BackofficeSchema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        extensions=[
            OperationContext,
            lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            lambda: QueryLimitsExtension(limits=limits),
            ErrorPresenter,
        ],
        # Subscription events run once per process for subscribers who asked the same.
        execution_context_class=SharedEventExecutor,
        config=StrawberryConfig(disable_field_suggestions=True, relay_max_results=250),
    )
