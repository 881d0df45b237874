"""Purchasing: how dropship orders reach each supplier, and the dropship purchase orders themselves."""

from __future__ import annotations

from tortoise import fields

from models.base import AccountOwned


class SupplierEndpoint(AccountOwned):
    """Where a supplier takes dropship orders: an HTTP endpoint (JSON signed with HMAC-SHA256 under
    `secret`) or an email address. The same secret signs the supplier's callbacks."""

    supplier: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Supplier", related_name=False, on_delete=fields.CASCADE
    )
    supplier_id: object
    kind = fields.CharField(max_length=8)
    url = fields.CharField(max_length=500, default="")
    email = fields.CharField(max_length=254, default="")
    secret = fields.CharField(max_length=128)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "supplier_endpoint"
        unique_together = (("account_id", "supplier_id"),)


class DropshipOrder(AccountOwned):
    """The lines of one customer order that one supplier ships straight to the customer.

    PENDING (written when the order is confirmed), SENT (the supplier has it), ACCEPTED, REJECTED,
    SHIPPED (with a tracking number), or FAILED (it could not be delivered to the supplier).
    """

    order: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Order", related_name=False, on_delete=fields.CASCADE
    )
    order_id: object
    supplier: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Supplier", related_name=False, on_delete=fields.RESTRICT
    )
    supplier_id: object
    status = fields.CharField(max_length=10, default="PENDING")
    lines = fields.JSONField(default=list)
    customer_name = fields.CharField(max_length=300, default="")
    customer_email = fields.CharField(max_length=254, default="")
    customer_phone = fields.CharField(max_length=32, default="")
    delivery_method = fields.CharField(max_length=100, default="")
    delivery_address = fields.TextField(default="")
    send_attempts = fields.IntField(default=0)
    sent_at = fields.DatetimeField(null=True)
    answered_at = fields.DatetimeField(null=True)
    supplier_reference = fields.CharField(max_length=200, default="")
    tracking_number = fields.CharField(max_length=100, default="")
    rejection_reason = fields.TextField(default="")
    error = fields.TextField(default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "dropship_order"
        unique_together = (("account_id", "order_id", "supplier_id"),)
        indexes = (("account_id", "status", "created_at"), ("status", "updated_at"))
