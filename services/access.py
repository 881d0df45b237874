"""Who is acting, and what they may do: roles for people, scopes for store tokens."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field

from services.errors import Forbidden


class Role(enum.StrEnum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    MANAGER = "MANAGER"
    WAREHOUSE = "WAREHOUSE"
    VIEWER = "VIEWER"


class Permission(enum.StrEnum):
    """What an operation needs. A store token's scopes are a subset of these."""

    CATALOG_READ = "CATALOG_READ"
    CATALOG_WRITE = "CATALOG_WRITE"
    STOCK_READ = "STOCK_READ"
    STOCK_WRITE = "STOCK_WRITE"
    ORDERS_READ = "ORDERS_READ"
    ORDERS_WRITE = "ORDERS_WRITE"
    CUSTOMERS_READ = "CUSTOMERS_READ"
    CUSTOMERS_WRITE = "CUSTOMERS_WRITE"
    SUPPLIERS_READ = "SUPPLIERS_READ"
    SUPPLIERS_WRITE = "SUPPLIERS_WRITE"
    USERS_MANAGE = "USERS_MANAGE"
    TOKENS_MANAGE = "TOKENS_MANAGE"
    SETTINGS_MANAGE = "SETTINGS_MANAGE"


READ_ALL = frozenset(p for p in Permission if p.value.endswith("_READ"))
EVERYTHING = frozenset(Permission)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: EVERYTHING,
    Role.ADMIN: EVERYTHING,
    Role.MANAGER: READ_ALL
    | {
        Permission.ORDERS_WRITE,
        Permission.CUSTOMERS_WRITE,
        Permission.CATALOG_WRITE,
    },
    Role.WAREHOUSE: READ_ALL | {Permission.STOCK_WRITE, Permission.CATALOG_WRITE},
    Role.VIEWER: READ_ALL,
}

# Roles a user may hand out: nobody creates someone above themselves.
ROLE_RANK = {Role.VIEWER: 0, Role.WAREHOUSE: 1, Role.MANAGER: 1, Role.ADMIN: 2, Role.OWNER: 3}

# Scopes a store engine's token may carry.
TOKEN_SCOPES = frozenset(
    {
        Permission.CATALOG_READ,
        Permission.CATALOG_WRITE,
        Permission.STOCK_READ,
        Permission.STOCK_WRITE,
        Permission.ORDERS_READ,
        Permission.ORDERS_WRITE,
        Permission.CUSTOMERS_READ,
        Permission.CUSTOMERS_WRITE,
    }
)


@dataclass(frozen=True)
class Actor:
    """The caller of a service: a user of an account, acting through a session or an API token."""

    account_id: uuid.UUID
    user_id: uuid.UUID | None
    role: Role | None
    permissions: frozenset[Permission] = field(default_factory=frozenset)
    token_id: uuid.UUID | None = None
    is_api_token: bool = False

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if permission not in self.permissions:
            raise Forbidden(f"this operation needs the {permission.value} permission")

    @classmethod
    def for_user(cls, account_id: uuid.UUID, user_id: uuid.UUID, role: Role) -> Actor:
        return cls(account_id, user_id, role, ROLE_PERMISSIONS[role])

    @classmethod
    def system(cls, account_id: uuid.UUID) -> Actor:
        """The back office itself (jobs, imports): may do everything within one account."""
        return cls(account_id, None, None, EVERYTHING)
