"""Live feeds: the `orderEvents` subscription and its OrderEvent type.

OrderEvent resolves from services.events.LiveEvent. A feed ends with an error whose
`extensions.code` is SUBSCRIPTION_ENDED (`reason` TOO_SLOW, SHUTDOWN, UNAVAILABLE or
CONNECTION_LOST, and `lastEventId`): subscribe again with `afterEventId: lastEventId` and
nothing is lost.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import aclosing
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from graphql import ExecutionResult, GraphQLError, OperationType, VariableNode, Visitor, visit
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import Info

from resolvers import live as r
from schema.errors import present_error
from schema.orders import OrderEventType, OrderStatus
from services.broadcast import SubscriptionEnded
from services.events import LiveEvent

if TYPE_CHECKING:
    from schema.orders import OrderType


@strawberry.type(name="OrderEvent", description="Something that happened to an order, as it happens.")
class OrderEventFeedType:
    """Resolves from services.events.LiveEvent (payload keys as services/order_timeline.py writes them)."""

    id: strawberry.ID = strawberry.field(description="Resume a feed after this event with `afterEventId`.")
    at: datetime

    @strawberry.field
    def type(self) -> OrderEventType:  # type: ignore[valid-type]
        return r.event_type(self)  # type: ignore[arg-type]

    @strawberry.field(description="The order's status before a STATUS_CHANGED event.")
    def from_status(self) -> OrderStatus | None:  # type: ignore[valid-type]
        return r.event_status(self, "from_status")  # type: ignore[arg-type]

    @strawberry.field(description="The order's status after a STATUS_CHANGED event.")
    def to_status(self) -> OrderStatus | None:  # type: ignore[valid-type]
        return r.event_status(self, "to_status")  # type: ignore[arg-type]

    @strawberry.field
    def order_id(self) -> strawberry.ID | None:
        order_id = self.order_id  # type: ignore[attr-defined]
        return strawberry.ID(str(order_id)) if order_id else None

    @strawberry.field(
        description="The order as it is now, read for this event (never from an earlier event's cache)."
    )
    async def order(self, info: Info) -> Annotated[OrderType, strawberry.lazy("schema.orders")] | None:
        return await r.event_order(info, self)  # type: ignore[arg-type]


def _as_graphql_error(exc: Exception, info: Info, last_event_id: str | None) -> GraphQLError:
    if isinstance(exc, SubscriptionEnded):
        return GraphQLError(
            str(exc),
            extensions={"code": "SUBSCRIPTION_ENDED", "reason": exc.reason, "lastEventId": last_event_id},
        )
    request_id = getattr(info.context, "request_id", "unknown")
    return present_error(GraphQLError(str(exc), original_error=exc), request_id)


async def _presented(info: Info, feed: AsyncIterator[LiveEvent]) -> AsyncGenerator[LiveEvent, None]:
    """The feed, with its errors coded as in queries (strawberry does not pass subscription
    events through the ErrorPresenter): SUBSCRIPTION_ENDED, NOT_FOUND, ..., masked otherwise."""
    last_event_id: str | None = None
    try:
        async for event in feed:
            yield event
            last_event_id = str(event.id)
    except Exception as exc:  # noqa: BLE001 - every error leaves as a coded GraphQL error
        raise _as_graphql_error(exc, info, last_event_id) from None
    finally:
        aclose = getattr(feed, "aclose", None)
        if aclose is not None:
            await aclose()


@strawberry.type
class LiveSubscription:
    @strawberry.subscription(
        description="The account's order events: first those after `afterEventId` from the event log, "
        "then live ones, in order, each once. Filters: event types, the orders' sales channels, "
        "and `mine` (orders assigned to you)."
    )
    async def order_events(
        self,
        info: Info,
        types: list[OrderEventType] | None = None,  # type: ignore[valid-type]
        channel_ids: list[strawberry.ID] | None = None,
        mine: bool | None = False,
        after_event_id: strawberry.ID | None = None,
    ) -> AsyncGenerator[OrderEventFeedType, None]:
        feed = r.order_events(
            info, types=types, channel_ids=channel_ids, mine=mine, after_event_id=after_event_id
        )
        async with aclosing(_presented(info, feed)) as events:
            async for event in events:
                yield event  # type: ignore[misc]


class OperationContext(SchemaExtension):
    """Gives each operation on a WebSocket connection its own context (see resolvers/live.py),
    and codes (or masks) the errors of every result a subscription streams, as ErrorPresenter
    does for queries: strawberry runs `on_operation` once for the whole stream."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, r.LiveContext):
            self.execution_context.context = context.for_operation()
        yield

    def on_stream_result(self, result: Any) -> Iterator[None]:
        errors = getattr(result, "errors", None)
        if errors:
            request_id = getattr(self.execution_context.context, "request_id", "unknown")
            result.errors = [present_error(error, request_id) for error in errors]
        yield


# --- one execution per event for identical subscriptions ------------------------------------------

SHARED_RESULTS = 1024  # recent (event, document, caller) results kept for the other subscribers
_shared: OrderedDict[tuple, asyncio.Future] = OrderedDict()
_RUN_IT_YOURSELF = object()


class _VariableNames(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        self.names.add(node.name.value)


class SharedEventExecutor(StrawberryGraphQLCoreExecutionContext):
    """Executes a subscription event once for every subscriber of this process that asked the
    same: the same event, the same document (ParserCache gives one document object per text),
    the same variables below the root field (root arguments only shape the event stream), and a
    caller of the same account with the same permissions (`LiveContext.share_key`). The others
    get that result. With a thousand managers watching one account, the event is resolved once,
    not a thousand times. Fields under Subscription must therefore not depend on who asks beyond
    account and permissions (none does; the `mine` filter runs before the event is yielded).
    Anything else executes as usual."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        key = self._share_key() if self.operation.operation == OperationType.SUBSCRIPTION else None
        if key is None:
            return super().execute_operation(serially)
        found = _shared.get(key)
        if found is not None:
            return self._reuse(found, serially)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        _shared[key] = future
        while len(_shared) > SHARED_RESULTS:
            _shared.popitem(last=False)
        return self._run_for_all(key, future, serially)

    def build_per_event_executor(self, payload: Any) -> Any:
        if self.operation.operation == OperationType.SUBSCRIPTION and "_variables_key" not in self.__dict__:
            self._variables_key = self._selection_variables_key()  # once; each event's copy has it
        return super().build_per_event_executor(payload)

    def _share_key(self) -> tuple | None:
        event_id = getattr(self.root_value, "shared_id", None)
        share = getattr(self.context_value, "share_key", None)
        variables = self.__dict__.get("_variables_key")
        if event_id is None or share is None or variables is None:
            return None
        return (event_id, id(self.operation), variables, share)

    def _selection_variables_key(self) -> str:
        """The values of the variables used below the root field (and in fragments)."""
        collector = _VariableNames()
        for selection in self.operation.selection_set.selections:
            if getattr(selection, "selection_set", None) is not None:
                visit(selection.selection_set, collector)
        for fragment in self.fragment_definitions.values():
            visit(fragment, collector)
        coerced = self.variable_values.coerced
        return json.dumps([[n, coerced.get(n)] for n in sorted(collector.names)], default=str)

    async def _run_for_all(self, key: tuple, future: asyncio.Future, serially: bool | None) -> Any:
        try:
            result = super().execute_operation(serially)
            if self.is_awaitable(result):
                result = await result
        except BaseException:
            if _shared.get(key) is future:
                del _shared[key]
            if not future.done():
                future.set_result(_RUN_IT_YOURSELF)
            raise
        if not future.done():
            future.set_result(result)
        return result

    async def _reuse(self, found: asyncio.Future, serially: bool | None) -> Any:
        result = await asyncio.shield(found)
        if result is _RUN_IT_YOURSELF:
            result = super().execute_operation(serially)
            return (await result) if self.is_awaitable(result) else result
        return ExecutionResult(result.data, list(result.errors) if result.errors else None)
