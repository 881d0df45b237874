"""Customers and suppliers: records with contacts, tax id, addresses, tags and a comment."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from resolvers import customers as r
from resolvers import orders as order_resolvers
from schema.common import Connection, UserError, connection, payload

if TYPE_CHECKING:
    from schema.orders import CustomerMetrics


@strawberry.type(name="Supplier")
class SupplierType:
    id: strawberry.ID
    code: str | None
    name: str
    emails: list[str]
    phones: list[str]
    tax_id: str
    addresses: list[str]
    tags: list[str]
    comment: str
    country: str
    created_at: datetime
    updated_at: datetime


@strawberry.type(name="Customer")
class CustomerType(SupplierType):
    email_consent: bool
    sms_consent: bool

    @strawberry.field(description="Last sale, total sales, order count, average order, balance.")
    async def metrics(self, info: Info) -> Annotated[CustomerMetrics, strawberry.lazy("schema.orders")]:
        return await order_resolvers.customer_metrics(info, self)  # type: ignore[arg-type]


@strawberry.input
class CounterpartyFilterInput:
    search: str | None = strawberry.field(default=None, description="Name, code, email, phone or tax id.")
    tags: list[str] | None = strawberry.field(default=None, description="All of these tags.")
    country: str | None = None


@strawberry.input(description="Record fields a customer and a supplier share; left out: unchanged on update.")
class CounterpartyFields:
    code: str | None = None
    emails: list[str] | None = None
    phones: list[str] | None = None
    tax_id: str | None = None
    addresses: list[str] | None = None
    tags: list[str] | None = None
    comment: str | None = None
    country: str | None = None


@strawberry.input
class CreateSupplierInput(CounterpartyFields):
    name: str


@strawberry.input(description="Fields left out stay as they are.")
class UpdateSupplierInput(CounterpartyFields):
    id: strawberry.ID
    name: str | None = None


@strawberry.input
class CreateCustomerInput(CreateSupplierInput):
    email_consent: bool | None = None
    sms_consent: bool | None = None


@strawberry.input(description="Fields left out stay as they are.")
class UpdateCustomerInput(UpdateSupplierInput):
    email_consent: bool | None = None
    sms_consent: bool | None = None


@strawberry.type
class CreateCustomerPayload:
    user_errors: list[UserError]
    customer: CustomerType | None = None


@strawberry.type
class UpdateCustomerPayload:
    user_errors: list[UserError]
    customer: CustomerType | None = None


@strawberry.type
class CreateSupplierPayload:
    user_errors: list[UserError]
    supplier: SupplierType | None = None


@strawberry.type
class UpdateSupplierPayload:
    user_errors: list[UserError]
    supplier: SupplierType | None = None


@strawberry.type
class CustomersQuery:
    @strawberry.field
    async def customers(
        self,
        info: Info,
        filter: CounterpartyFilterInput | None = None,
        search: str | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[CustomerType]:
        if search is not None:
            filter = CounterpartyFilterInput(
                search=search,
                tags=filter.tags if filter else None,
                country=filter.country if filter else None,
            )
        return connection(await r.list_customers(info, filter, first, after))

    @strawberry.field
    async def customer(self, info: Info, id: strawberry.ID) -> CustomerType:
        return await r.customer(info, id)

    @strawberry.field
    async def suppliers(
        self,
        info: Info,
        filter: CounterpartyFilterInput | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[SupplierType]:
        return connection(await r.list_suppliers(info, filter, first, after))

    @strawberry.field
    async def supplier(self, info: Info, id: strawberry.ID) -> SupplierType:
        return await r.supplier(info, id)


@strawberry.type
class CustomersMutation:
    @strawberry.mutation
    async def create_customer(self, info: Info, input: CreateCustomerInput) -> CreateCustomerPayload:
        async def action() -> dict:
            return {"customer": await r.create_customer(info, input)}

        return await payload(CreateCustomerPayload, action)

    @strawberry.mutation
    async def update_customer(self, info: Info, input: UpdateCustomerInput) -> UpdateCustomerPayload:
        async def action() -> dict:
            return {"customer": await r.update_customer(info, input)}

        return await payload(UpdateCustomerPayload, action)

    @strawberry.mutation
    async def create_supplier(self, info: Info, input: CreateSupplierInput) -> CreateSupplierPayload:
        async def action() -> dict:
            return {"supplier": await r.create_supplier(info, input)}

        return await payload(CreateSupplierPayload, action)

    @strawberry.mutation
    async def update_supplier(self, info: Info, input: UpdateSupplierInput) -> UpdateSupplierPayload:
        async def action() -> dict:
            return {"supplier": await r.update_supplier(info, input)}

        return await payload(UpdateSupplierPayload, action)
