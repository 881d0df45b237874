"""Companies (accounts), their users, and access tokens (sessions and store API tokens)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.base import AccountOwned


class Account(Model):
    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=200)
    currency = fields.CharField(max_length=3, default="RUB")
    timezone = fields.CharField(max_length=64, default="Europe/Moscow")
    allow_backorders = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Orders (services/orders.py): minutes a new order has to be confirmed in, how new orders find a
    # manager, and the last order number and round-robin manager given out (both under a row lock).
    confirmation_minutes = fields.IntField(default=5, db_default=5)
    assignment_strategy = fields.CharField(max_length=16, default="ROUND_ROBIN", db_default="ROUND_ROBIN")
    last_order_number = fields.BigIntField(default=0, db_default=0)
    last_assigned_manager_id = fields.UUIDField(null=True)
    # The last position given out in the account's event log (services/events.py, under a row lock).
    event_seq = fields.BigIntField(default=0, db_default=0)

    class Meta:
        table = "account"


class User(AccountOwned):
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200, default="")
    password_hash = fields.CharField(max_length=255)
    role = fields.CharField(max_length=16)
    is_active = fields.BooleanField(default=True)
    # A MANAGER on shift gets new orders assigned (services/orders.py).
    on_shift = fields.BooleanField(default=False, db_default=False)

    class Meta:
        table = "app_user"
        indexes = (("account_id", "role"),)


class AccessToken(AccountOwned):
    """A bearer token. Only its SHA-256 hash is kept, the token itself is shown once.

    `kind` SESSION tokens come from signUp/logIn and act with the user's role.
    API tokens are for store engines and act only within their scopes.
    """

    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="tokens", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=8)
    name = fields.CharField(max_length=200, default="")
    token_hash = fields.CharField(max_length=64, unique=True)
    scopes = fields.JSONField(default=list)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "access_token"
        indexes = (("account_id", "kind"),)
