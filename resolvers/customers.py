"""Customers and suppliers: thin calls into services.customers."""

from __future__ import annotations

from typing import Any

from strawberry.types import Info

from models.customers import Customer, Supplier
from resolvers.common import actor
from services import customers
from services.customers import CounterpartyFilter, CounterpartyInput
from services.pagination import Page

_FIELDS = (
    "name",
    "code",
    "emails",
    "phones",
    "tax_id",
    "addresses",
    "tags",
    "comment",
    "country",
    "email_consent",
    "sms_consent",
)


def _input(data: Any) -> CounterpartyInput:
    return CounterpartyInput(**{f: getattr(data, f, None) for f in _FIELDS})


def _filter(flt: Any) -> CounterpartyFilter:
    if flt is None:
        return CounterpartyFilter()
    return CounterpartyFilter(search=flt.search, tags=list(flt.tags or []), country=flt.country)


async def create_customer(info: Info, data: Any) -> Customer:
    return await customers.create_customer(await actor(info), _input(data))


async def update_customer(info: Info, data: Any) -> Customer:
    return await customers.update_customer(await actor(info), data.id, _input(data))


async def customer(info: Info, customer_id: Any) -> Customer:
    return await customers.get_customer(await actor(info), customer_id)


async def list_customers(info: Info, flt: Any, first: int | None, after: str | None) -> Page[Customer]:
    return await customers.list_customers(await actor(info), _filter(flt), first=first, after=after)


async def create_supplier(info: Info, data: Any) -> Supplier:
    return await customers.create_supplier(await actor(info), _input(data))


async def update_supplier(info: Info, data: Any) -> Supplier:
    return await customers.update_supplier(await actor(info), data.id, _input(data))


async def supplier(info: Info, supplier_id: Any) -> Supplier:
    return await customers.get_supplier(await actor(info), supplier_id)


async def list_suppliers(info: Info, flt: Any, first: int | None, after: str | None) -> Page[Supplier]:
    return await customers.list_suppliers(await actor(info), _filter(flt), first=first, after=after)
