"""Customers and suppliers: the people and companies the account trades with."""

from __future__ import annotations

from tortoise import fields

from models.base import AccountOwned


class Counterparty(AccountOwned):
    """Fields a customer and a supplier share."""

    code = fields.CharField(max_length=64, null=True)
    name = fields.CharField(max_length=300)
    emails = fields.JSONField(default=list)
    phones = fields.JSONField(default=list)
    tax_id = fields.CharField(max_length=32, default="")
    addresses = fields.JSONField(default=list)
    tags = fields.JSONField(default=list)
    comment = fields.TextField(default="")
    country = fields.CharField(max_length=100, default="")
    # Lower-cased name, code, emails, phones and tax id, for search on both databases alike.
    search_text = fields.TextField(default="")
    tags_key = fields.TextField(default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True


class Customer(Counterparty):
    email_consent = fields.BooleanField(default=False)
    sms_consent = fields.BooleanField(default=False)

    class Meta:
        table = "customer"
        unique_together = (("account_id", "code"),)
        indexes = (("account_id", "name"),)


class CustomerContact(AccountOwned):
    """One normalised email or phone of a customer: how an incoming order finds its customer."""

    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="contacts", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=8)
    value = fields.CharField(max_length=254)

    class Meta:
        table = "customer_contact"
        indexes = (("account_id", "kind", "value"),)


class Supplier(Counterparty):
    class Meta:
        table = "supplier"
        unique_together = (("account_id", "code"),)
        indexes = (("account_id", "name"),)
