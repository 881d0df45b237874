"""Stock: warehouses, the movement ledger, stock levels, reservations and average cost.

The ledger (`StockMovement`) is immutable: a document posts movements and never changes
afterwards, a mistake is undone by a compensating document. `StockLevel` is a materialised
view of it per warehouse and variant, kept in the same transaction: on hand is the sum of the
movements, reserved the sum of the open reservations. Quantities are thousandths of the unit,
costs minor money units per whole unit, both as integers.
"""

from __future__ import annotations

from tortoise import fields

from models.base import AccountOwned


class Warehouse(AccountOwned):
    """A place stock is kept. `kind` is OWN, DELIVERY_SERVICE or SUPPLIER (then `supplier` is set)."""

    name = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=16, default="OWN")
    supplier: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Supplier", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    supplier_id: object
    archived = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "warehouse"
        unique_together = (("account_id", "name"),)
        indexes = (("account_id", "kind"),)


class StockLevel(AccountOwned):
    """What one warehouse holds of one variant. Changed only together with the ledger."""

    warehouse: fields.ForeignKeyRelation[Warehouse] = fields.ForeignKeyField(
        "models.Warehouse", related_name=False, on_delete=fields.RESTRICT
    )
    warehouse_id: object
    variant: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Variant", related_name=False, on_delete=fields.RESTRICT
    )
    variant_id: object
    on_hand_milli = fields.BigIntField(default=0)
    reserved_milli = fields.BigIntField(default=0)
    incoming_milli = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "stock_level"
        unique_together = (("account_id", "warehouse_id", "variant_id"),)
        indexes = (("account_id", "variant_id"),)


class VariantCost(AccountOwned):
    """The moving weighted average unit cost of a variant over all warehouses, from receipts."""

    variant: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Variant", related_name=False, on_delete=fields.CASCADE
    )
    variant_id: object
    unit_cost_minor = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "variant_cost"
        unique_together = (("account_id", "variant_id"),)


class StockDocument(AccountOwned):
    """A posted stock document: RECEIPT, SHIPMENT, TRANSFER, WRITE_OFF, COUNT or RETURN.

    `reverses` points at the document this one compensates (each is reversed at most once).
    """

    kind = fields.CharField(max_length=16)
    warehouse: fields.ForeignKeyRelation[Warehouse] = fields.ForeignKeyField(
        "models.Warehouse", related_name=False, on_delete=fields.RESTRICT
    )
    warehouse_id: object
    to_warehouse: fields.ForeignKeyNullableRelation[Warehouse] = fields.ForeignKeyField(
        "models.Warehouse", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    to_warehouse_id: object
    comment = fields.TextField(default="")
    reason = fields.CharField(max_length=200, default="")
    reference = fields.CharField(max_length=200, default="")
    author: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    author_id: object
    reverses: fields.OneToOneNullableRelation[StockDocument] = fields.OneToOneField(
        "models.StockDocument", related_name="reversed_by", null=True, on_delete=fields.RESTRICT
    )
    reverses_id: object
    posted_at = fields.DatetimeField()

    class Meta:
        table = "stock_document"
        indexes = (("account_id", "posted_at"), ("account_id", "kind", "posted_at"))


class StockDocumentLine(AccountOwned):
    """A line as it was entered: for a COUNT `quantity_milli` is the counted figure."""

    document: fields.ForeignKeyRelation[StockDocument] = fields.ForeignKeyField(
        "models.StockDocument", related_name="lines", on_delete=fields.RESTRICT
    )
    document_id: object
    position = fields.IntField()
    variant: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Variant", related_name=False, on_delete=fields.RESTRICT
    )
    variant_id: object
    quantity_milli = fields.BigIntField()
    unit_cost_minor = fields.BigIntField(null=True)

    class Meta:
        table = "stock_document_line"
        unique_together = (("document_id", "position"),)


class StockMovement(AccountOwned):
    """One immutable ledger entry: a signed quantity into (plus) or out of (minus) a warehouse.

    `unit_cost_minor` is the receipt cost for incoming goods and the average cost at the time
    for outgoing ones, so profit can be computed later.
    """

    document: fields.ForeignKeyRelation[StockDocument] = fields.ForeignKeyField(
        "models.StockDocument", related_name="movements", on_delete=fields.RESTRICT
    )
    document_id: object
    position = fields.IntField()
    warehouse: fields.ForeignKeyRelation[Warehouse] = fields.ForeignKeyField(
        "models.Warehouse", related_name=False, on_delete=fields.RESTRICT
    )
    warehouse_id: object
    variant: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Variant", related_name=False, on_delete=fields.RESTRICT
    )
    variant_id: object
    quantity_milli = fields.BigIntField()
    unit_cost_minor = fields.BigIntField(default=0)
    posted_at = fields.DatetimeField()

    class Meta:
        table = "stock_movement"
        indexes = (("account_id", "variant_id", "posted_at"), ("account_id", "warehouse_id", "variant_id"))


class Reservation(AccountOwned):
    """Stock held for one order line in one warehouse: OPEN, then RELEASED or SHIPPED.

    One row per order line: reserving a released line again reopens it.
    """

    order_line_id = fields.UUIDField()
    warehouse: fields.ForeignKeyRelation[Warehouse] = fields.ForeignKeyField(
        "models.Warehouse", related_name=False, on_delete=fields.RESTRICT
    )
    warehouse_id: object
    variant: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Variant", related_name=False, on_delete=fields.RESTRICT
    )
    variant_id: object
    quantity_milli = fields.BigIntField()
    status = fields.CharField(max_length=8, default="OPEN")
    shipment: fields.ForeignKeyNullableRelation[StockDocument] = fields.ForeignKeyField(
        "models.StockDocument", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    shipment_id: object
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "stock_reservation"
        unique_together = (("account_id", "order_line_id"),)
        indexes = (("account_id", "warehouse_id", "variant_id", "status"),)
