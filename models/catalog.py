"""Catalog: product groups (a tree), products, their variants, price types and prices.

Money is kept in minor units (kopecks, pence) as integers; see services/money.py.
"""

from __future__ import annotations

from tortoise import fields

from models.base import AccountOwned


class ProductGroup(AccountOwned):
    parent: fields.ForeignKeyNullableRelation[ProductGroup] = fields.ForeignKeyField(
        "models.ProductGroup", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=200)
    # The names from the root down, joined by " / ": unique per account, so a path finds its group.
    path = fields.CharField(max_length=1000)

    class Meta:
        table = "product_group"
        unique_together = (("account_id", "path"),)


class Product(AccountOwned):
    article = fields.CharField(max_length=100)
    name = fields.CharField(max_length=500)
    group: fields.ForeignKeyNullableRelation[ProductGroup] = fields.ForeignKeyField(
        "models.ProductGroup", related_name="products", null=True, on_delete=fields.SET_NULL
    )
    unit = fields.CharField(max_length=8, default="PCS")
    vat_rate = fields.CharField(max_length=8, default="NONE")
    barcodes = fields.JSONField(default=list)
    description = fields.TextField(default="")
    archived = fields.BooleanField(default=False)
    is_service = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "product"
        unique_together = (("account_id", "article"),)
        indexes = (("account_id", "name"),)


class Variant(AccountOwned):
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name="variants", on_delete=fields.CASCADE
    )
    sku = fields.CharField(max_length=100)
    # [{"name": "Size", "value": "M"}, {"name": "Colour", "value": "Red"}]
    characteristics = fields.JSONField(default=list)
    barcodes = fields.JSONField(default=list)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "variant"
        unique_together = (("account_id", "sku"),)


class PriceType(AccountOwned):
    code = fields.CharField(max_length=40)
    name = fields.CharField(max_length=200)

    class Meta:
        table = "price_type"
        unique_together = (("account_id", "code"),)


class Price(AccountOwned):
    variant: fields.ForeignKeyRelation[Variant] = fields.ForeignKeyField(
        "models.Variant", related_name="prices", on_delete=fields.CASCADE
    )
    price_type: fields.ForeignKeyRelation[PriceType] = fields.ForeignKeyField(
        "models.PriceType", related_name="prices", on_delete=fields.CASCADE
    )
    amount_minor = fields.BigIntField()

    class Meta:
        table = "price"
        unique_together = (("variant_id", "price_type_id"),)
