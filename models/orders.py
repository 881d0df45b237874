"""Orders: sales channels, orders with their lines, and payments.

An order's timeline is its entries in the account's event log (models/events.py).

Money is kept in minor units and quantities in thousandths, as integers (see services/amounts.py).
"""

from __future__ import annotations

from tortoise import fields

from models.base import AccountOwned


class SalesChannel(AccountOwned):
    """Where orders come from (a web store, a marketplace, the phone), with the warehouse that
    ships them and the price type that prices lines an order gives no price for."""

    name = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=16)
    warehouse: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Warehouse", related_name=False, on_delete=fields.RESTRICT
    )
    warehouse_id: object
    price_type: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.PriceType", related_name=False, on_delete=fields.RESTRICT
    )
    price_type_id: object

    class Meta:
        table = "sales_channel"
        unique_together = (("account_id", "name"),)


class Order(AccountOwned):
    """One customer order. `number` is sequential per account without gaps: it comes from the
    account row's counter inside the placing transaction (it is empty only inside that
    transaction). A store's own order id (`external_id`) is unique per channel, which makes
    placing idempotent."""

    number = fields.BigIntField(null=True)
    channel_id: object
    customer_id: object
    manager_id: object
    channel: fields.ForeignKeyRelation[SalesChannel] = fields.ForeignKeyField(
        "models.SalesChannel", related_name="orders", on_delete=fields.RESTRICT
    )
    external_id = fields.CharField(max_length=100, null=True)
    # sha256 of the placing input, to tell a retry from a different order under the same externalId
    content_hash = fields.CharField(max_length=64)
    customer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Customer", related_name="orders", on_delete=fields.RESTRICT
    )
    manager: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    status = fields.CharField(max_length=16, default="NEW")
    payment_status = fields.CharField(max_length=16, default="UNPAID")
    total_minor = fields.BigIntField(default=0)
    paid_minor = fields.BigIntField(default=0)
    refunded_minor = fields.BigIntField(default=0)
    delivery_method = fields.CharField(max_length=100, default="")
    delivery_address = fields.TextField(default="")
    comment = fields.TextField(default="")
    confirm_deadline = fields.DatetimeField()
    confirmed_at = fields.DatetimeField(null=True)
    # Set once, by the deadline watcher, when the order was still NEW at its deadline.
    deadline_missed_at = fields.DatetimeField(null=True)
    shipped_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "customer_order"
        unique_together = (("account_id", "number"), ("account_id", "channel_id", "external_id"))
        indexes = (
            ("account_id", "status", "confirm_deadline"),
            ("account_id", "manager_id", "status"),
            ("account_id", "customer_id"),
            ("account_id", "created_at"),
            # The deadline watcher looks over every account at once: the one index not led by account_id.
            ("status", "confirm_deadline"),
        )


class OrderLine(AccountOwned):
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="lines", on_delete=fields.CASCADE
    )
    position = fields.IntField()
    variant: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Variant", related_name=False, on_delete=fields.RESTRICT
    )
    # Where the line's stock is reserved and shipped from; empty for services, which hold no stock.
    warehouse: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Warehouse", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    warehouse_id: object
    unit = fields.CharField(max_length=8, default="PCS")
    quantity_milli = fields.BigIntField()
    price_minor = fields.BigIntField()
    total_minor = fields.BigIntField()

    class Meta:
        table = "order_line"
        indexes = (("account_id", "order_id"),)


class Payment(AccountOwned):
    """Money received for an order (`kind` PAYMENT) or given back (`kind` REFUND, with `refund_of`).
    A payment's `refunded_minor` grows by a conditional update, so it never exceeds its amount."""

    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="payments", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=8)
    method = fields.CharField(max_length=16)
    amount_minor = fields.BigIntField()
    refunded_minor = fields.BigIntField(default=0)
    refund_of: fields.ForeignKeyNullableRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="refunds", null=True, on_delete=fields.CASCADE
    )
    actor: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "payment"
        indexes = (("account_id", "order_id"),)
