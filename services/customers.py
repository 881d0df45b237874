"""Customers and suppliers as records: contacts, tax id, addresses, tags; search and filters."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models.customers import Counterparty, Customer, CustomerContact, Supplier
from services.access import Actor, Permission
from services.db import get_owned, transaction
from services.errors import InvalidInput, ProblemList
from services.pagination import Page, paginate
from services.validation import (
    clean_emails,
    clean_list,
    clean_phones,
    clean_text,
    normalise_email,
    normalise_phone,
)


@dataclass
class CounterpartyInput:
    """What a create or update gives; on update, None means 'leave as it is'."""

    name: str | None = None
    code: str | None = None
    emails: list[str] | None = None
    phones: list[str] | None = None
    tax_id: str | None = None
    addresses: list[str] | None = None
    tags: list[str] | None = None
    comment: str | None = None
    country: str | None = None
    email_consent: bool | None = None
    sms_consent: bool | None = None


@dataclass
class CounterpartyFilter:
    search: str | None = None
    tags: list[str] = field(default_factory=list)
    country: str | None = None


def _clean(data: CounterpartyInput, *, creating: bool) -> dict[str, object]:
    problems = ProblemList()
    values: dict[str, object] = {}
    if creating or data.name is not None:
        values["name"] = clean_text(problems, data.name, ["name"], max_length=300, required=True)
    if data.code is not None:
        values["code"] = clean_text(problems, data.code, ["code"], max_length=64) or None
    if data.emails is not None:
        values["emails"] = clean_emails(problems, data.emails, ["emails"])
        if len(data.emails) > 20:
            problems.add(["emails"], "TOO_MANY", "at most 20 emails")
    if data.phones is not None:
        values["phones"] = clean_phones(problems, data.phones, ["phones"])
        if len(data.phones) > 20:
            problems.add(["phones"], "TOO_MANY", "at most 20 phones")
    if data.tax_id is not None:
        values["tax_id"] = clean_text(problems, data.tax_id, ["taxId"], max_length=32)
    if data.addresses is not None:
        values["addresses"] = clean_list(
            problems, data.addresses, ["addresses"], max_items=20, max_length=1000
        )
    if data.tags is not None:
        values["tags"] = [
            t.lower() for t in clean_list(problems, data.tags, ["tags"], max_items=50, max_length=64)
        ]
    if data.comment is not None:
        values["comment"] = clean_text(problems, data.comment, ["comment"], max_length=10000)
    if data.country is not None:
        values["country"] = clean_text(problems, data.country, ["country"], max_length=100)
    for flag in ("email_consent", "sms_consent"):
        if getattr(data, flag) is not None:
            values[flag] = bool(getattr(data, flag))
    problems.raise_if_any()
    return values


def _index(row: Counterparty) -> None:
    parts = [row.name, row.code or "", row.tax_id, *row.emails, *row.phones]
    row.search_text = " ".join(p.lower() for p in parts if p)
    row.tags_key = "," + ",".join(row.tags) + "," if row.tags else ""


async def _sync_contacts(customer: Customer) -> None:
    await CustomerContact.filter(account_id=customer.account_id, customer_id=customer.id).delete()
    contacts = [
        CustomerContact(
            id=uuid.uuid4(), account_id=customer.account_id, customer_id=customer.id, kind="EMAIL", value=e
        )
        for e in customer.emails
    ] + [
        CustomerContact(
            id=uuid.uuid4(), account_id=customer.account_id, customer_id=customer.id, kind="PHONE", value=p
        )
        for p in customer.phones
    ]
    if contacts:
        await CustomerContact.bulk_create(contacts)


async def _create(model: type[Counterparty], actor: Actor, data: CounterpartyInput) -> Counterparty:
    values = _clean(data, creating=True)
    if model is Supplier:
        values.pop("email_consent", None)
        values.pop("sms_consent", None)
    row = model(id=uuid.uuid4(), account_id=actor.account_id, **values)
    _index(row)
    try:
        async with transaction():
            await row.save()
            if isinstance(row, Customer):
                await _sync_contacts(row)
    except IntegrityError as exc:
        raise InvalidInput.one(["code"], "DUPLICATE", f"code {values.get('code')!r} is already used") from exc
    return row


async def _update(
    model: type[Counterparty], actor: Actor, row_id: object, data: CounterpartyInput, what: str
) -> Counterparty:
    values = _clean(data, creating=False)
    if model is Supplier:
        values.pop("email_consent", None)
        values.pop("sms_consent", None)
    try:
        async with transaction():
            row = await get_owned(model, actor, row_id, field=["id"], what=what, for_update=True)
            changed = [k for k, v in values.items() if getattr(row, k) != v]
            if not changed:
                return row
            for key in changed:
                setattr(row, key, values[key])
            _index(row)
            await row.save(update_fields=[*changed, "search_text", "tags_key", "updated_at"])
            if isinstance(row, Customer) and {"emails", "phones"} & set(changed):
                await _sync_contacts(row)
    except IntegrityError as exc:
        raise InvalidInput.one(["code"], "DUPLICATE", f"code {values.get('code')!r} is already used") from exc
    return row


async def _list(
    model: type[Counterparty], actor: Actor, flt: CounterpartyFilter, first: int | None, after: str | None
) -> Page:
    query = model.filter(account_id=actor.account_id)
    text = (flt.search or "").strip().lower()
    if text:
        query = query.filter(Q(search_text__contains=text) | Q(code=flt.search.strip()))
    if flt.country:
        query = query.filter(country=flt.country.strip())
    for tag in flt.tags:
        # Tags are also kept as ",a,b," so one LIKE finds a whole tag on both databases.
        query = query.filter(tags_key__contains=f",{tag.strip().lower()},")
    return await paginate(query, order_by="name", first=first, after=after)


async def create_customer(actor: Actor, data: CounterpartyInput) -> Customer:
    actor.require(Permission.CUSTOMERS_WRITE)
    return await _create(Customer, actor, data)


async def update_customer(actor: Actor, customer_id: object, data: CounterpartyInput) -> Customer:
    actor.require(Permission.CUSTOMERS_WRITE)
    return await _update(Customer, actor, customer_id, data, "customer")


async def get_customer(actor: Actor, customer_id: object, field: Sequence[str] = ("id",)) -> Customer:
    actor.require(Permission.CUSTOMERS_READ)
    return await get_owned(Customer, actor, customer_id, field=field, what="customer")


async def list_customers(
    actor: Actor, flt: CounterpartyFilter, *, first: int | None, after: str | None
) -> Page[Customer]:
    actor.require(Permission.CUSTOMERS_READ)
    return await _list(Customer, actor, flt, first, after)


async def find_customer_by_contact(
    account_id: uuid.UUID, *, email: str | None, phone: str | None
) -> Customer | None:
    """The customer an incoming order belongs to, by normalised email first, then phone."""
    for kind, value in (
        ("EMAIL", email and normalise_email(email)),
        ("PHONE", phone and normalise_phone(phone)),
    ):
        if value:
            contact = await CustomerContact.filter(account_id=account_id, kind=kind, value=value).first()
            if contact is not None:
                return await Customer.get(id=contact.customer_id, account_id=account_id)
    return None


async def create_supplier(actor: Actor, data: CounterpartyInput) -> Supplier:
    actor.require(Permission.SUPPLIERS_WRITE)
    return await _create(Supplier, actor, data)


async def update_supplier(actor: Actor, supplier_id: object, data: CounterpartyInput) -> Supplier:
    actor.require(Permission.SUPPLIERS_WRITE)
    return await _update(Supplier, actor, supplier_id, data, "supplier")


async def get_supplier(actor: Actor, supplier_id: object, field: Sequence[str] = ("id",)) -> Supplier:
    actor.require(Permission.SUPPLIERS_READ)
    return await get_owned(Supplier, actor, supplier_id, field=field, what="supplier")


async def list_suppliers(
    actor: Actor, flt: CounterpartyFilter, *, first: int | None, after: str | None
) -> Page[Supplier]:
    actor.require(Permission.SUPPLIERS_READ)
    return await _list(Supplier, actor, flt, first, after)
