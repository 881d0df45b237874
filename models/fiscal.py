"""Fiscal receipts (54-FZ): the account's cash-register settings and one receipt per payment or refund."""

from __future__ import annotations

from tortoise import fields

from models.base import AccountOwned


class AccountFiscalSettings(AccountOwned):
    """The company's fiscal data: tax id, tax system, payment address, and its fiscal provider
    (an ATOL Online v4 style API: base URL, group code, login and password). One row per account.
    The provider's token (valid 24 hours) is kept here so every job shares it."""

    enabled = fields.BooleanField(default=True)
    tax_id = fields.CharField(max_length=12)
    tax_system = fields.CharField(max_length=24)
    payment_address = fields.CharField(max_length=256)
    company_email = fields.CharField(max_length=64)
    provider_url = fields.CharField(max_length=500)
    group_code = fields.CharField(max_length=100)
    login = fields.CharField(max_length=100)
    password = fields.CharField(max_length=200)
    default_vat = fields.CharField(max_length=8, default="none")
    token = fields.CharField(max_length=200, default="")
    token_expires_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "fiscal_settings"
        unique_together = (("account_id",),)


class Receipt(AccountOwned):
    """A receipt for one payment (`kind` sell) or refund (sell_refund), and where its submission stands.

    PENDING (written with the payment), SUBMITTED (the provider took it: `provider_uuid`), DONE (the
    fiscal attributes are kept) or FAILED (`error_code`, `error_text`). Our id is the provider's
    `external_id`, its idempotency key. `items` are exact to the kopeck: see services/fiscal.py.
    """

    payment_id = fields.UUIDField()
    order_id = fields.UUIDField()
    kind = fields.CharField(max_length=12)
    status = fields.CharField(max_length=10, default="PENDING")
    total_minor = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    payment_type = fields.IntField(default=1)
    customer_email = fields.CharField(max_length=64, default="")
    customer_phone = fields.CharField(max_length=19, default="")
    company = fields.JSONField(default=dict)
    items = fields.JSONField(default=list)
    generation = fields.IntField(default=0)
    submit_attempts = fields.IntField(default=0)
    polls = fields.IntField(default=0)
    provider_uuid = fields.CharField(max_length=64, default="")
    submitted_at = fields.DatetimeField(null=True)
    done_at = fields.DatetimeField(null=True)
    fiscal_document_number = fields.BigIntField(null=True)
    fiscal_document_attribute = fields.BigIntField(null=True)
    fiscal_receipt_number = fields.BigIntField(null=True)
    fn_number = fields.CharField(max_length=32, default="")
    shift_number = fields.IntField(null=True)
    receipt_datetime = fields.CharField(max_length=32, default="")
    ecr_registration_number = fields.CharField(max_length=32, default="")
    fns_site = fields.CharField(max_length=256, default="")
    error_code = fields.IntField(null=True)
    error_text = fields.TextField(default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "fiscal_receipt"
        unique_together = (("account_id", "payment_id", "kind"),)
        indexes = (("account_id", "order_id"), ("account_id", "created_at"), ("status", "updated_at"))
