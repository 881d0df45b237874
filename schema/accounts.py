"""Accounts and access: sign-up, log-in, users and roles, API tokens for store engines."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import accounts as r
from schema.common import UserError, payload
from services.access import Role as ServiceRole

Role = strawberry.enum(ServiceRole, name="Role", description="What a person may do in the account.")


@strawberry.enum(description="What a store engine's API token may do.")
class Scope(enum.Enum):
    CATALOG_READ = "CATALOG_READ"
    CATALOG_WRITE = "CATALOG_WRITE"
    STOCK_READ = "STOCK_READ"
    STOCK_WRITE = "STOCK_WRITE"
    ORDERS_READ = "ORDERS_READ"
    ORDERS_WRITE = "ORDERS_WRITE"
    CUSTOMERS_READ = "CUSTOMERS_READ"
    CUSTOMERS_WRITE = "CUSTOMERS_WRITE"


@strawberry.type(name="Account")
class AccountType:
    id: strawberry.ID
    name: str
    currency: str
    timezone: str
    allow_backorders: bool
    created_at: datetime


@strawberry.type(name="User")
class UserType:
    id: strawberry.ID
    email: str
    name: str
    role: Role
    is_active: bool
    created_at: datetime

    @strawberry.field
    async def account(self, info: Info) -> AccountType:
        return await r.account(info)


@strawberry.type(name="ApiToken")
class ApiTokenType:
    id: strawberry.ID
    name: str
    scopes: list[Scope]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@strawberry.input
class SignUpInput:
    company_name: str
    email: str
    password: str
    currency: str = "RUB"
    timezone: str = "Europe/Moscow"


@strawberry.input
class LogInInput:
    email: str
    password: str


@strawberry.input
class CreateUserInput:
    email: str
    password: str
    role: Role
    name: str = ""


@strawberry.input
class DeactivateUserInput:
    user_id: strawberry.ID


@strawberry.input
class CreateApiTokenInput:
    name: str
    scopes: list[Scope]


@strawberry.input
class RevokeApiTokenInput:
    token_id: strawberry.ID


@strawberry.type
class SignUpPayload:
    user_errors: list[UserError]
    token: str | None = strawberry.field(default=None, description="A session token; shown once.")
    user: UserType | None = None
    account: AccountType | None = None


@strawberry.type
class LogInPayload:
    user_errors: list[UserError]
    token: str | None = None
    user: UserType | None = None
    account: AccountType | None = None


@strawberry.type
class LogOutPayload:
    user_errors: list[UserError]
    ok: bool = False


@strawberry.type
class CreateUserPayload:
    user_errors: list[UserError]
    user: UserType | None = None


@strawberry.type
class DeactivateUserPayload:
    user_errors: list[UserError]
    user: UserType | None = None


@strawberry.type
class CreateApiTokenPayload:
    user_errors: list[UserError]
    token: str | None = strawberry.field(default=None, description="The token itself; shown only here, once.")
    api_token: ApiTokenType | None = None


@strawberry.type
class RevokeApiTokenPayload:
    user_errors: list[UserError]
    api_token: ApiTokenType | None = None


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="The signed-in user.")
    async def me(self, info: Info) -> UserType | None:
        return await r.me(info)

    @strawberry.field(description="The users of the account (needs USERS_MANAGE).")
    async def users(self, info: Info) -> list[UserType]:
        return await r.users(info)

    @strawberry.field(description="The account's API tokens, without the tokens themselves.")
    async def api_tokens(self, info: Info) -> list[ApiTokenType]:
        return await r.api_tokens(info)


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description="Creates a company account and its owner; returns a session token.")
    async def sign_up(self, info: Info, input: SignUpInput) -> SignUpPayload:
        async def action() -> dict:
            issued, user, account = await r.sign_up(info, input)
            return {"token": issued.token, "user": user, "account": account}

        return await payload(SignUpPayload, action)

    @strawberry.mutation
    async def log_in(self, info: Info, input: LogInInput) -> LogInPayload:
        async def action() -> dict:
            issued, user, account = await r.log_in(info, input)
            return {"token": issued.token, "user": user, "account": account}

        return await payload(LogInPayload, action)

    @strawberry.mutation(description="Ends the session this request was made with.")
    async def log_out(self, info: Info) -> LogOutPayload:
        async def action() -> dict:
            await r.log_out(info)
            return {"ok": True}

        return await payload(LogOutPayload, action)

    @strawberry.mutation
    async def create_user(self, info: Info, input: CreateUserInput) -> CreateUserPayload:
        async def action() -> dict:
            return {"user": await r.create_user(info, input)}

        return await payload(CreateUserPayload, action)

    @strawberry.mutation(description="Deactivates a user and revokes all their sessions and tokens.")
    async def deactivate_user(self, info: Info, input: DeactivateUserInput) -> DeactivateUserPayload:
        async def action() -> dict:
            return {"user": await r.deactivate_user(info, input)}

        return await payload(DeactivateUserPayload, action)

    @strawberry.mutation
    async def create_api_token(self, info: Info, input: CreateApiTokenInput) -> CreateApiTokenPayload:
        async def action() -> dict:
            issued = await r.create_api_token(info, input)
            return {"token": issued.token, "api_token": issued.record}

        return await payload(CreateApiTokenPayload, action)

    @strawberry.mutation
    async def revoke_api_token(self, info: Info, input: RevokeApiTokenInput) -> RevokeApiTokenPayload:
        async def action() -> dict:
            return {"api_token": await r.revoke_api_token(info, input)}

        return await payload(RevokeApiTokenPayload, action)
