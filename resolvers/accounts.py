"""Accounts and access: thin calls into services.accounts."""

from __future__ import annotations

from typing import Any

from strawberry.types import Info

from models.accounts import AccessToken, Account, User
from resolvers.common import actor, context, plain
from services import accounts
from services.accounts import IssuedToken


async def sign_up(info: Info, data: Any) -> tuple[IssuedToken, User, Account]:
    return await accounts.sign_up(
        company_name=data.company_name,
        email=data.email,
        password=data.password,
        currency=data.currency,
        timezone=data.timezone,
        session_hours=context(info).settings.session_hours,
    )


async def log_in(info: Info, data: Any) -> tuple[IssuedToken, User, Account]:
    return await accounts.log_in(
        email=data.email, password=data.password, session_hours=context(info).settings.session_hours
    )


async def log_out(info: Info) -> None:
    await accounts.log_out(await actor(info))


async def me(info: Info) -> User | None:
    return await accounts.current_user(await actor(info))


async def account(info: Info) -> Account:
    return await context(info).account()


async def create_user(info: Info, data: Any) -> User:
    return await accounts.create_user(
        await actor(info), email=data.email, name=data.name, password=data.password, role=plain(data.role)
    )


async def users(info: Info) -> list[User]:
    return await accounts.list_users(await actor(info))


async def deactivate_user(info: Info, data: Any) -> User:
    return await accounts.deactivate_user(await actor(info), data.user_id)


async def create_api_token(info: Info, data: Any) -> IssuedToken:
    return await accounts.create_api_token(
        await actor(info), name=data.name, scopes=[plain(s) for s in data.scopes]
    )


async def api_tokens(info: Info) -> list[AccessToken]:
    return await accounts.list_api_tokens(await actor(info))


async def revoke_api_token(info: Info, data: Any) -> AccessToken:
    return await accounts.revoke_api_token(await actor(info), data.token_id)
