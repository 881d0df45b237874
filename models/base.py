"""What every company-owned row has: a UUID id, its account, and when it was made."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class AccountOwned(Model):
    """Base of every row that belongs to a company. Services filter every query by `account_id`."""

    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Account", related_name=False, on_delete=fields.CASCADE, db_index=False
    )
    account_id: object
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        abstract = True
