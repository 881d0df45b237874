"""The account event log and the live feeds that follow it.

Services record an event in the transaction of the change it reports:

    async with transaction():
        ...change the order...
        await events.record(account_id, topic="orders", type="STATUS_CHANGED", order_id=order.id,
                            actor_user_id=actor.user_id,
                            payload={"channel_id": ..., "manager_id": ..., "from_status": ..., ...})

`record` takes the account's next position under the account row's lock (held until commit,
so call it as the transaction's last write: positions commit in order) and publishes the event
to `account:<id>:<topic>` once the transaction has committed. The publication carries the id,
position, type, order id and the payload's small scalar fields; subscribers re-read anything
else from the database.

`follow` is what a subscription iterates: the events after a given one from the log, then the
live ones, in position order, without gap or duplicate. It subscribes before it reads the log,
skips live events it has already given, and reads the log for any it has not seen (a lost or
late publication is found by the `prev` position each publication carries).
"""

from __future__ import annotations

import json
import logging
import uuid
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from models.events import Event
from services import broadcast
from services.access import Actor, Permission
from services.db import on_commit, parse_id
from services.errors import NotFound, ProblemList
from services.raw_sql import raw_rows

log = logging.getLogger("backoffice.events")

__all__ = [
    "TOPICS",
    "LiveEvent",
    "channel",
    "record",
    "events_after",
    "last_position",
    "follow",
    "order_feed",
]

ORDERS = "orders"
STOCK = "stock"
TOPICS = (ORDERS, STOCK)
# Payload keys the order feed filters on; the orders service fills them.
CHANNEL_KEY = "channel_id"
MANAGER_KEY = "manager_id"
PREVIOUS_MANAGER_KEY = "previous_manager_id"

PAGE = 200  # events read from the log at a time
RECHECK_SECONDS = 60.0  # a quiet feed looks in the log this often, for a publication that was lost
SMALL_TEXT = 200  # payload strings up to this length travel with the publication


@dataclass(frozen=True, eq=False)
class LiveEvent:
    """An event as a feed gives it, from the log or from a publication (the same either way)."""

    id: uuid.UUID
    position: int
    topic: str
    type: str
    at: datetime
    order_id: uuid.UUID | None = None
    actor_user_id: uuid.UUID | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def shared_id(self) -> uuid.UUID:
        """What identifies the event for sharing its execution between subscribers."""
        return self.id


def channel(account_id: uuid.UUID | str, topic: str) -> str:
    return f"account:{account_id}:{topic}"


def _small(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload's scalar fields short enough to publish."""
    return {
        key: value
        for key, value in payload.items()
        if value is None
        or isinstance(value, bool | int | float)
        or (isinstance(value, str) and len(value) <= SMALL_TEXT)
    }


def _from_row(row: Event) -> LiveEvent:
    return LiveEvent(
        id=row.id,
        position=row.position,
        topic=row.topic,
        type=row.type,
        at=row.at,
        order_id=row.order_id,
        actor_user_id=row.actor_user_id,
        payload=_small(row.payload or {}),
    )


def _uuid_or_none(raw: object) -> uuid.UUID | None:
    return uuid.UUID(str(raw)) if raw else None


# The LiveEvent of a publication, made once per process for all its subscribers.
_parsed: weakref.WeakValueDictionary[str, LiveEvent] = weakref.WeakValueDictionary()


def _from_message(message: Mapping[str, Any]) -> LiveEvent | None:
    key = message.get("id")
    found = _parsed.get(key) if isinstance(key, str) else None
    if found is not None:
        return found
    found = _parse_message(message)
    if found is not None:
        _parsed[key] = found  # type: ignore[index]
    return found


def _parse_message(message: Mapping[str, Any]) -> LiveEvent | None:
    try:
        return LiveEvent(
            id=uuid.UUID(str(message["id"])),
            position=int(message["position"]),
            topic=str(message["topic"]),
            type=str(message["type"]),
            at=datetime.fromisoformat(str(message["at"])),
            order_id=_uuid_or_none(message.get("order_id")),
            actor_user_id=_uuid_or_none(message.get("actor_user_id")),
            payload=message.get("payload") or {},
        )
    except (KeyError, TypeError, ValueError):
        log.warning("ignored a malformed live event: %r", message)
        return None


@dataclass(frozen=True)
class NewEvent:
    """One event to add to the log with `record_many`."""

    type: str
    payload: Mapping[str, Any]
    order_id: uuid.UUID | None = None
    actor_user_id: uuid.UUID | None = None


async def record(
    account_id: uuid.UUID,
    *,
    topic: str,
    type: str,
    payload: Mapping[str, Any],
    order_id: uuid.UUID | None = None,
    actor_user_id: uuid.UUID | None = None,
) -> Event:
    """Adds an event to the account's log, inside the caller's transaction; it is published
    after that transaction commits (never if it rolls back). Holds the account row's lock until
    commit: call it as late in the transaction as possible."""
    recorded = await record_many(account_id, topic, [NewEvent(type, payload, order_id, actor_user_id)])
    return recorded[0]


# One statement takes the positions and locks the account row until commit.
_TAKE_POSITIONS = "UPDATE account SET event_seq = event_seq + $1 WHERE id = $2 RETURNING event_seq"


async def record_many(account_id: uuid.UUID, topic: str, new_events: Sequence[NewEvent]) -> list[Event]:
    """Adds several events at once: three statements however many, so the account row's lock
    (which orders the positions) is held as briefly as it can be."""
    if topic not in TOPICS:
        raise ValueError(f"unknown event topic {topic!r}")
    if not new_events:
        return []
    account_id = uuid.UUID(str(account_id))
    recorded: list[tuple[Event, int]] = []

    async def publish_recorded() -> None:
        for event, previous in recorded:
            await _publish(event, previous)

    on_commit(publish_recorded)  # raises outside a transaction, before anything is written
    rows = await raw_rows(_TAKE_POSITIONS, [len(new_events), str(account_id)])
    if not rows:
        raise ValueError(f"no account {account_id}")
    first = int(rows[0]["event_seq"]) - len(new_events) + 1
    # Earlier positions have all committed (they held the lock we hold now), so this is final.
    previous = await last_position(account_id, topic)
    now = datetime.now(UTC)
    events = [
        Event(
            id=uuid.uuid4(),
            account_id=account_id,
            position=first + index,
            topic=topic,
            type=spec.type,
            order_id=spec.order_id,
            actor_user_id=spec.actor_user_id,
            payload=json.loads(json.dumps(dict(spec.payload), default=str)),
            at=now,
        )
        for index, spec in enumerate(new_events)
    ]
    await Event.bulk_create(events)
    for event in events:
        recorded.append((event, previous))
        previous = event.position
    return events


async def _publish(event: Event, previous: int) -> None:
    message = {
        "id": str(event.id),
        "position": event.position,
        "prev": previous,
        "topic": event.topic,
        "type": event.type,
        "at": event.at.isoformat(),
        "order_id": str(event.order_id) if event.order_id else None,
        "actor_user_id": str(event.actor_user_id) if event.actor_user_id else None,
        "payload": _small(event.payload or {}),
    }
    try:
        await broadcast.publish(channel(event.account_id, event.topic), message)
    except broadcast.BroadcastUnavailable as exc:
        # The event is in the log: subscribers find it at the next event or when they resume.
        log.warning("event %s (%s) not published: %s", event.id, event.type, exc)


async def last_position(account_id: uuid.UUID, topic: str) -> int:
    """The position of the topic's latest event in the account's log (0 if none)."""
    found = (
        await Event.filter(account_id=account_id, topic=topic)
        .order_by("-position")
        .first()
        .values_list("position", flat=True)
    )
    return found or 0


async def _position_of(account_id: uuid.UUID, event_id: object, field: list[str]) -> int:
    found = (
        await Event.filter(account_id=account_id, id=parse_id(event_id, field, "event"))
        .first()
        .values_list("position", flat=True)
    )
    if found is None:
        raise NotFound(field, "event")
    return found


async def _after_position(
    account_id: uuid.UUID, topic: str, position: int, limit: int, before: int | None = None
) -> list[Event]:
    query = Event.filter(account_id=account_id, topic=topic, position__gt=position)
    if before is not None:
        query = query.filter(position__lt=before)
    return await query.order_by("position").limit(limit)


async def events_after(
    account_id: uuid.UUID, topic: str, after_event_id: uuid.UUID | None, limit: int
) -> list[Event]:
    """Up to `limit` events of the topic after the given event (from the start when None), in
    order. The event may be of any topic of the account; NOT_FOUND if it is not in the log."""
    start = 0 if after_event_id is None else await _position_of(account_id, after_event_id, ["afterEventId"])
    return await _after_position(account_id, topic, start, limit)


async def _log_between(
    account_id: uuid.UUID, topic: str, after: int, before: int | None = None
) -> AsyncIterator[LiveEvent]:
    while True:
        rows = await _after_position(account_id, topic, after, PAGE, before)
        for row in rows:
            yield _from_row(row)
        if len(rows) < PAGE:
            return
        after = rows[-1].position


async def follow(
    account_id: uuid.UUID, topic: str, *, after_event_id: object | None = None
) -> AsyncIterator[LiveEvent]:
    """The topic's events after `after_event_id` from the log, then live ones as they come
    (from now when None), in position order, each once. NOT_FOUND for an id not in the log.

    When the broadcast connection is lost it subscribes again and reads what it missed from the
    log; it ends with broadcast.SubscriptionEnded when that is not possible (TOO_SLOW,
    SHUTDOWN, UNAVAILABLE)."""
    name = channel(account_id, topic)
    seen: int | None = None
    if after_event_id is not None:
        seen = await _position_of(account_id, after_event_id, ["afterEventId"])
    while True:
        try:
            async with broadcast.subscribe(name) as live:
                # Subscribed first, the log second: whatever commits from here on arrives live.
                if seen is None:
                    seen = await last_position(account_id, topic)
                async with aclosing(_log_between(account_id, topic, seen)) as backlog:
                    async for event in backlog:
                        yield event
                        seen = event.position
                while True:
                    message = await live.get(RECHECK_SECONDS)
                    if message is None:  # quiet: a publication may have been lost, look in the log
                        async with aclosing(_log_between(account_id, topic, seen)) as backlog:
                            async for event in backlog:
                                yield event
                                seen = event.position
                        continue
                    event = _from_message(message)
                    if event is None or event.position <= seen:
                        continue  # already given (from the log, or it came late)
                    if int(message.get("prev") or 0) > seen:
                        # Events of this topic came before it and have not arrived (late or lost):
                        # they have all committed, read them from the log first.
                        async with aclosing(_log_between(account_id, topic, seen, event.position)) as gap:
                            async for missed in gap:
                                yield missed
                                seen = missed.position
                    yield event
                    seen = event.position
        except broadcast.SubscriptionEnded as ended:
            if not ended.resumable:
                raise
            log.info("live feed %s resumes after position %s: %s", name, seen, ended)


async def order_feed(
    actor: Actor,
    *,
    types: Iterable[str] | None = None,
    channel_ids: Iterable[object] | None = None,
    mine: bool = False,
    after_event_id: object | None = None,
) -> AsyncIterator[LiveEvent]:
    """The account's order events for the `orderEvents` subscription, filtered: by type, by the
    order's sales channel, and `mine` (orders assigned to the caller, or just taken from them)."""
    actor.require(Permission.ORDERS_READ)
    problems = ProblemList()
    wanted_types = {str(t) for t in types} if types else None
    wanted_channels: set[str] | None = None
    if channel_ids:
        try:
            wanted_channels = {str(uuid.UUID(str(raw))) for raw in channel_ids}
        except ValueError:
            problems.add(["channelIds"], "INVALID_ID", "channelIds are sales channel ids")
    if mine and actor.user_id is None:
        problems.add(["mine"], "NO_USER", "`mine` needs a user's session, not a store token")
    problems.raise_if_any()
    me = str(actor.user_id) if mine else None
    async with aclosing(follow(actor.account_id, ORDERS, after_event_id=after_event_id)) as events:
        async for event in events:
            if wanted_types is not None and event.type not in wanted_types:
                continue
            payload = event.payload
            if wanted_channels is not None and str(payload.get(CHANNEL_KEY)) not in wanted_channels:
                continue
            if me is not None and me not in (
                str(payload.get(MANAGER_KEY)),
                str(payload.get(PREVIOUS_MANAGER_KEY)),
            ):
                continue
            yield event
