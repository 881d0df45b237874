"""Live feeds over WebSocket: the connection's context, and the subscription resolvers.

strawberry makes one context per WebSocket connection (`get_context` runs once) and hands it to
every operation on it, for every event. Loaders kept there would serve rows read for an earlier
event. So `LiveContext.for_operation` gives each operation its own copy (schema/live.py's
extension calls it), and a subscription gives each event fresh loaders, shared only by the
subscribers of this process that resolve the same event.
"""

from __future__ import annotations

import dataclasses
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from strawberry.types import Info

from models.orders import Order
from resolvers.common import plain
from resolvers.context import Context
from resolvers.loaders import Loaders
from resolvers.orders import load_order
from services import events
from services.errors import Forbidden
from services.order_timeline import OrderEventType, OrderStatus

# Loaders of the event being resolved, by (account, event); dropped once nobody resolves it.
_event_loaders: weakref.WeakValueDictionary[tuple[uuid.UUID, uuid.UUID], Loaders] = (
    weakref.WeakValueDictionary()
)


@dataclasses.dataclass
class LiveContext(Context):
    """The context of one WebSocket connection, authenticated by its `connection_init`."""

    async def authenticate(self, bearer: str) -> None:
        """Checks the token of `connection_init`; raises Unauthenticated if it is not valid."""
        self.bearer, self._actor, self._account, self._loaders = bearer, None, None, None
        await self.actor()

    def for_operation(self) -> LiveContext:
        """A copy for one operation on the connection: same caller, its own loaders."""
        return dataclasses.replace(self, request_id=uuid.uuid4().hex[:16], _account=None, _loaders=None)

    def use_loaders(self, loaders: Loaders) -> None:
        """Makes `loaders` the ones this operation's fields use from now on (a new event)."""
        self._loaders = loaders

    @property
    def share_key(self) -> tuple | None:
        """Callers with the same key see the same subscription results (schema/live.py)."""
        known = self._actor  # the future of the caller, done since on_ws_connect
        if known is None or not known.done() or known.cancelled() or known.exception() is not None:
            return None
        actor = known.result()
        return (actor.account_id, actor.permissions, actor.is_api_token)


def loaders_for_event(account_id: uuid.UUID, event_id: uuid.UUID) -> Loaders:
    """Fresh loaders for one event: what they read, they read after the event committed."""
    key = (account_id, event_id)
    found = _event_loaders.get(key)
    if found is None:
        found = Loaders(account_id)
        _event_loaders[key] = found
    return found


def live_context(info: Info) -> LiveContext:
    context = info.context
    if not isinstance(context, LiveContext):
        raise Forbidden("subscriptions run over WebSocket (graphql-transport-ws or graphql-ws)")
    return context


async def order_events(
    info: Info,
    *,
    types: list[Any] | None,
    channel_ids: list[Any] | None,
    mine: bool | None,
    after_event_id: Any,
) -> AsyncIterator[events.LiveEvent]:
    context = live_context(info)
    actor = await context.actor()
    feed = events.order_feed(
        actor,
        types=[plain(t) for t in types] if types else None,
        channel_ids=channel_ids,
        mine=bool(mine),
        after_event_id=after_event_id,
    )
    async with aclosing(feed):
        async for event in feed:
            context.use_loaders(loaders_for_event(actor.account_id, event.id))
            yield event


# --- OrderEvent's fields -------------------------------------------------------------------------


def event_type(event: events.LiveEvent) -> OrderEventType:
    return OrderEventType(event.type)


def event_status(event: events.LiveEvent, key: str) -> OrderStatus | None:
    value = event.payload.get(key)
    return OrderStatus(value) if value else None


async def event_order(info: Info, event: events.LiveEvent) -> Order | None:
    """The order, through the event's own loaders (see `loaders_for_event`)."""
    if event.order_id is None:
        return None
    return await load_order(info, event.order_id)
