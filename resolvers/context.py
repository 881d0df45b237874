"""What every resolver gets: the caller (authenticated lazily), the account, the loaders."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from models.accounts import Account
from resolvers.loaders import Loaders
from services import accounts
from services.access import Actor
from services.errors import Unauthenticated


@dataclass
class Context:
    """Per HTTP request, and per event in a subscription (so loaders never serve stale rows)."""

    settings: Any
    bearer: str | None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    request: Any = None
    response: Any = None
    connection_params: dict | None = None
    _actor: asyncio.Future[Actor] | None = None
    _account: asyncio.Future[Account] | None = None
    _loaders: Loaders | None = None

    async def actor(self) -> Actor:
        """The authenticated caller; raises UNAUTHENTICATED without a valid token."""
        if self._actor is None:
            if not self.bearer:
                raise Unauthenticated("sign in first: send Authorization: Bearer <token>")
            # A future, not a value: the resolvers of one request ask at the same time.
            self._actor = asyncio.ensure_future(accounts.authenticate(self.bearer))
        return await self._actor

    async def account(self) -> Account:
        if self._account is None:
            self._account = asyncio.ensure_future(self._load_account())
        return await self._account

    async def _load_account(self) -> Account:
        return await accounts.get_account(await self.actor())

    async def currency(self) -> str:
        return (await self.account()).currency

    async def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders((await self.actor()).account_id)
        return self._loaders


def bearer_from_header(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
