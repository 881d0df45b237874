"""Live fan-out between server processes: the one module that uses broadcaster.

    await broadcast.start(settings.redis_url)       # once per process (the app's lifespan)
    await broadcast.publish("account:<id>:orders", {"id": ..., "position": 7})
    async with broadcast.subscribe("account:<id>:orders") as messages:
        async for message in messages:               # dicts; ends with SubscriptionEnded
            ...

Backend `memory://` (one process) by default, Redis when `REDIS_URL` is set. Delivery is at most
once: what must not be lost is also in the database (services/events.py), and a subscriber that
is ended resumes from there.

We use broadcaster's backends (the transport) and do the fan-out ourselves, because its own
fan-out (`Broadcast`) has unbounded per-subscriber queues filled with a blocking `put`, and two
tasks subscribing to a new channel at once can drop one of them. Here:
- one reader task per process takes what the backend receives and hands each message to the
  channel's local subscribers without waiting; each subscriber's queue is bounded, and a
  subscriber that falls `QUEUE_LIMIT` messages behind is ended (TOO_SLOW) and its queue dropped;
- one Redis subscription per channel however many local subscribers it has; the last one to
  leave unsubscribes, so subscribers that leave leave nothing behind;
- a channel counts as subscribed only once a marker published to it has come back through the
  reader, so a caller that reads the database after `subscribe()` returns misses nothing;
- a supervisor watches the backend: broadcaster's Redis listener dies silently when Redis drops
  the pub/sub connection (subscribers would wait forever while publishing still works). When
  that task stops, or a heartbeat sent through Redis does not come back, the supervisor ends
  every live subscription (CONNECTION_LOST: whatever this process missed meanwhile is in the
  event log) and reconnects with back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import urlparse

from broadcaster import BroadcastBackend

log = logging.getLogger("backoffice.broadcast")

__all__ = [
    "SubscriptionEnded",
    "BroadcastUnavailable",
    "Messages",
    "start",
    "stop",
    "publish",
    "subscribe",
    "stats",
    "wait_connected",
]

QUEUE_LIMIT = 1000  # messages waiting for one subscriber before it is ended as too slow
HEARTBEAT_SECONDS = 1.0  # how often the supervisor checks the backend end to end
HEARTBEAT_TIMEOUT = 3.0  # a heartbeat not back in this time means the listener is dead
SYNC_TIMEOUT = 5.0  # a new channel's marker must come back within this
PUBLISH_TIMEOUT = 2.0
CONNECTED_WAIT = 5.0  # subscribe() waits this long for a reconnect in progress
RECONNECT_DELAYS = (0.05, 0.2, 0.5, 1.0, 2.0, 5.0)


class SubscriptionEnded(Exception):
    """A live subscription is over; what it may have missed is in the event log.

    `reason`: CONNECTION_LOST (the backend reconnected: subscribe again, at once),
    TOO_SLOW (the subscriber fell QUEUE_LIMIT messages behind), SHUTDOWN (this process stops),
    UNAVAILABLE (live feeds are not running or not reachable now).
    """

    CONNECTION_LOST = "CONNECTION_LOST"
    TOO_SLOW = "TOO_SLOW"
    SHUTDOWN = "SHUTDOWN"
    UNAVAILABLE = "UNAVAILABLE"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    @property
    def resumable(self) -> bool:
        """Whether subscribing again in this process can work right away."""
        return self.reason == self.CONNECTION_LOST


class BroadcastUnavailable(Exception):
    """publish() could not reach the backend (the event stays in the log)."""


class _Subscriber:
    __slots__ = ("items", "wakeup", "ended")

    def __init__(self) -> None:
        self.items: deque[dict] = deque()
        self.wakeup = asyncio.Event()
        self.ended: SubscriptionEnded | None = None

    def offer(self, message: dict) -> bool:
        """Queues a message without waiting; False when that made the subscriber too slow."""
        if self.ended is not None:
            return True
        if len(self.items) >= QUEUE_LIMIT:
            self.end(
                SubscriptionEnded(
                    SubscriptionEnded.TOO_SLOW,
                    f"the subscriber fell {QUEUE_LIMIT} events behind and was cut off",
                ),
                drop=True,
            )
            return False
        self.items.append(message)
        self.wakeup.set()
        return True

    def end(self, reason: SubscriptionEnded, *, drop: bool) -> None:
        if self.ended is None:
            self.ended = reason
            if drop:
                self.items.clear()
            self.wakeup.set()


class Messages:
    """What `subscribe()` yields: an async iterator of the channel's messages (dicts, not to be
    changed: all local subscribers share them). Raises SubscriptionEnded when the subscription
    is over."""

    __slots__ = ("_subscriber",)

    def __init__(self, subscriber: _Subscriber) -> None:
        self._subscriber = subscriber

    def __aiter__(self) -> Messages:
        return self

    async def __anext__(self) -> dict:
        subscriber = self._subscriber
        while True:
            if subscriber.items:
                return subscriber.items.popleft()
            if subscriber.ended is not None:  # a fresh exception: the reason may be shared
                raise SubscriptionEnded(subscriber.ended.reason, str(subscriber.ended))
            subscriber.wakeup.clear()
            await subscriber.wakeup.wait()

    async def get(self, within: float) -> dict | None:
        """The next message, or None when none came within `within` seconds."""
        subscriber = self._subscriber
        if not subscriber.items and subscriber.ended is None:
            subscriber.wakeup.clear()
            # A timer that wakes the subscriber up with nothing queued (cheaper than a timeout
            # scope, and this runs for every message of every subscriber).
            timer = asyncio.get_running_loop().call_later(within, subscriber.wakeup.set)
            try:
                await subscriber.wakeup.wait()
            finally:
                timer.cancel()
            if not subscriber.items and subscriber.ended is None:
                return None
        return await self.__anext__()


class _Channel:
    __slots__ = ("name", "subscribers", "ready", "failure", "generation", "subscribed")

    def __init__(self, name: str, generation: int) -> None:
        self.name = name
        self.subscribers: set[_Subscriber] = set()
        self.ready = asyncio.Event()  # set once subscribed everywhere, or failed
        self.failure: SubscriptionEnded | None = None
        self.generation = generation
        self.subscribed = False


def _make_backend(url: str) -> BroadcastBackend:
    scheme = urlparse(url).scheme
    if scheme in ("redis", "rediss"):
        from broadcaster._backends.redis import RedisBackend

        return RedisBackend(url)
    if scheme == "memory":
        from broadcaster._backends.memory import MemoryBackend

        return MemoryBackend(url)
    raise ValueError(f"unsupported broadcast backend {scheme!r}: use memory:// or redis://")


class _Hub:
    """The process's one connection to the backend, its channels and their subscribers."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.kind = urlparse(url).scheme
        self.backend: BroadcastBackend | None = None
        self.generation = 0
        self.channels: dict[str, _Channel] = {}
        self.connected = asyncio.Event()
        self.lost = asyncio.Event()
        self.reader: asyncio.Task | None = None
        self.supervisor: asyncio.Task | None = None
        self.heartbeat_channel = f"broadcast:heartbeat:{uuid.uuid4().hex}"
        self.syncs: dict[str, asyncio.Future] = {}
        self.restarts = 0
        self.cut_off = 0
        self.last_error = ""
        self.stopping = False

    # -- receiving ---------------------------------------------------------------------------

    async def _read(self, backend: BroadcastBackend) -> None:
        while True:
            event = await backend.next_published()
            self._dispatch(event.channel, event.message)

    def _dispatch(self, channel: str, raw: Any) -> None:
        try:
            message = json.loads(raw) if isinstance(raw, str | bytes) else raw
        except ValueError:
            log.warning("dropped a message on %s that is not JSON", channel)
            return
        if not isinstance(message, dict):
            return
        token = message.get("_sync")
        if token is not None:
            waiter = self.syncs.pop(token, None)  # markers of other processes are not ours
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return
        found = self.channels.get(channel)
        if found is None:
            return
        for subscriber in list(found.subscribers):
            if not subscriber.offer(message):
                self.cut_off += 1
                log.warning("a subscriber of %s was too slow and was cut off", channel)

    async def _sync(self, backend: BroadcastBackend, channel: str, within: float) -> None:
        """Publishes a marker to `channel` and waits until it comes back through the reader."""
        token = uuid.uuid4().hex
        waiter = asyncio.get_running_loop().create_future()
        self.syncs[token] = waiter
        try:
            await asyncio.wait_for(backend.publish(channel, json.dumps({"_sync": token})), within)
            await asyncio.wait_for(waiter, within)
        finally:
            self.syncs.pop(token, None)

    # -- connecting --------------------------------------------------------------------------

    async def connect(self) -> None:
        backend = _make_backend(self.url)
        self.generation += 1  # callbacks of earlier attempts and connections no longer count
        generation = self.generation
        reader: asyncio.Task | None = None
        try:
            await asyncio.wait_for(backend.connect(), SYNC_TIMEOUT)
            reader = asyncio.create_task(self._read(backend), name="broadcast-reader")
            # broadcaster 0.3.1's Redis listener task: when it stops, the pub/sub connection is gone.
            listener = getattr(backend, "_listener", None)
            if isinstance(listener, asyncio.Task):
                listener.add_done_callback(lambda task: self._listener_stopped(task, generation))
            await asyncio.wait_for(backend.subscribe(self.heartbeat_channel), SYNC_TIMEOUT)
            await self._sync(backend, self.heartbeat_channel, SYNC_TIMEOUT)
        except BaseException:
            await _quietly_stop(reader)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(backend.disconnect(), 1.0)
            raise
        self.backend = backend
        self.reader = reader
        self.lost.clear()
        self.connected.set()

    def _listener_stopped(self, task: asyncio.Task, generation: int) -> None:
        error = None if task.cancelled() else task.exception()
        if generation == self.generation and not self.stopping:
            self.last_error = (
                f"listener stopped: {type(error).__name__} {error}" if error else "listener stopped"
            )
            self.lost.set()

    def end_all(self, reason: SubscriptionEnded, *, drop: bool) -> None:
        channels = list(self.channels.values())
        self.channels.clear()
        for found in channels:
            found.failure = found.failure or reason
            found.ready.set()
            for subscriber in found.subscribers:
                subscriber.end(reason, drop=drop)

    async def disconnect(self) -> None:
        self.connected.clear()
        self.generation += 1
        backend, reader = self.backend, self.reader
        self.backend = self.reader = None
        await _quietly_stop(reader)
        if backend is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(backend.disconnect(), 1.0)

    async def reconnect(self, why: str) -> None:
        """Ends the live subscriptions (they may have missed messages) and connects again."""
        self.restarts += 1
        self.last_error = why
        log.warning("broadcast backend lost (%s): ending live subscriptions and reconnecting", why)
        await self.disconnect()
        self.end_all(
            SubscriptionEnded(
                SubscriptionEnded.CONNECTION_LOST,
                "the live feed lost its connection; subscribe again with afterEventId",
            ),
            drop=False,
        )
        await self.connect_with_retry()

    async def connect_with_retry(self) -> None:
        attempt = 0
        while not self.stopping:
            try:
                await self.connect()
                log.info("broadcast backend %s connected", self.kind)
                return
            except (Exception, TimeoutError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
                attempt += 1
                log.warning("broadcast backend not reachable (%s); retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)

    async def supervise(self) -> None:
        while not self.stopping:
            if not self.connected.is_set():
                await self.connect_with_retry()
                continue
            try:
                async with asyncio.timeout(HEARTBEAT_SECONDS):
                    await self.lost.wait()
            except TimeoutError:
                pass
            if self.lost.is_set():
                await self.reconnect("the pub/sub listener stopped")
                continue
            backend = self.backend
            if backend is None:
                continue
            try:
                await self._sync(backend, self.heartbeat_channel, HEARTBEAT_TIMEOUT)
            except (Exception, TimeoutError) as exc:
                await self.reconnect(f"heartbeat failed: {type(exc).__name__} {exc}".strip())

    # -- channels ----------------------------------------------------------------------------

    async def join(self, name: str) -> tuple[_Channel, _Subscriber]:
        for _attempt in range(3):
            if not self.connected.is_set():
                try:
                    async with asyncio.timeout(CONNECTED_WAIT):
                        await self.connected.wait()
                except TimeoutError:
                    raise _unavailable(self.last_error) from None
            subscriber = _Subscriber()
            found = self.channels.get(name)
            if found is None:
                found = _Channel(name, self.generation)
                found.subscribers.add(subscriber)
                self.channels[name] = found
                await self._open(found, subscriber)
                return found, subscriber
            found.subscribers.add(subscriber)
            try:
                await found.ready.wait()
            except BaseException:
                await self.leave(found, subscriber)
                raise
            if found.failure is None:
                return found, subscriber
            found.subscribers.discard(subscriber)
            if found.failure.reason == SubscriptionEnded.SHUTDOWN:
                raise found.failure
            # whoever opened the channel failed or left, or the connection was lost: try again
        raise _unavailable(self.last_error)

    async def _open(self, found: _Channel, subscriber: _Subscriber) -> None:
        """Subscribes the backend to a new channel, for `subscriber` and whoever joins meanwhile."""
        backend = self.backend
        assert backend is not None
        try:
            await asyncio.wait_for(backend.subscribe(found.name), SYNC_TIMEOUT)
            found.subscribed = True
            await self._sync(backend, found.name, SYNC_TIMEOUT)
        except BaseException as exc:
            found.failure = found.failure or _unavailable(f"{type(exc).__name__}: {exc}")
            found.ready.set()
            await self.leave(found, subscriber)
            if isinstance(exc, asyncio.CancelledError):
                raise
            if found.generation == self.generation and self.connected.is_set():
                self.lost.set()  # a channel that cannot subscribe: have the connection checked
            raise found.failure from exc
        found.ready.set()

    async def leave(self, found: _Channel, subscriber: _Subscriber) -> None:
        found.subscribers.discard(subscriber)
        if found.subscribers or self.channels.get(found.name) is not found:
            return
        del self.channels[found.name]
        backend = self.backend
        if backend is None or found.generation != self.generation or not found.subscribed:
            return  # that connection is gone, and its subscriptions with it
        try:
            await asyncio.wait_for(backend.unsubscribe(found.name), SYNC_TIMEOUT)
        except (Exception, TimeoutError) as exc:
            log.warning("could not unsubscribe from %s: %s", found.name, exc)
            if found.generation == self.generation:
                self.lost.set()


def _unavailable(detail: str) -> SubscriptionEnded:
    suffix = f" ({detail})" if detail else ""
    return SubscriptionEnded(SubscriptionEnded.UNAVAILABLE, f"live feeds are not available now{suffix}")


async def _quietly_stop(task: asyncio.Task | None) -> None:
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(BaseException):
        await task


_hub: _Hub | None = None
_starts = 0


async def start(url: str | None) -> None:
    """Connects this process to the backend (`memory://` when `url` is None). Idempotent: each
    start needs a stop. If Redis is not reachable yet, keeps trying in the background."""
    global _hub, _starts
    url = url or "memory://"
    if _hub is not None:
        if _hub.url != url:
            raise RuntimeError(f"broadcast already started with {_hub.url}, not {url}")
        _starts += 1
        return
    if urlparse(url).scheme not in ("memory", "redis", "rediss"):
        raise ValueError(f"unsupported broadcast backend {url!r}: use memory:// or redis://")
    hub = _Hub(url)
    _hub, _starts = hub, 1
    try:
        await hub.connect()
    except (Exception, TimeoutError) as exc:
        hub.last_error = f"{type(exc).__name__}: {exc}"
        log.error("broadcast backend not reachable at start-up (%s); retrying in the background", exc)
    hub.supervisor = asyncio.create_task(hub.supervise(), name="broadcast-supervisor")


async def stop() -> None:
    """Ends every live subscription (SHUTDOWN) and disconnects, when the last start is stopped."""
    global _hub, _starts
    if _hub is None:
        return
    _starts -= 1
    if _starts > 0:
        return
    hub, _hub = _hub, None
    hub.stopping = True
    await _quietly_stop(hub.supervisor)
    hub.end_all(SubscriptionEnded(SubscriptionEnded.SHUTDOWN, "the server is shutting down"), drop=True)
    await hub.disconnect()


async def wait_connected(within: float) -> bool:
    """Whether the backend is connected, waiting up to `within` seconds for a reconnect."""
    hub = _hub
    if hub is None:
        return False
    try:
        async with asyncio.timeout(within):
            await hub.connected.wait()
    except TimeoutError:
        return False
    return True


async def publish(channel: str, message: dict) -> None:
    """Sends `message` (JSON-encoded) to the channel's subscribers in every process.

    Outside a started process (a script, a test without the app) there is nobody to tell: it
    does nothing. Raises BroadcastUnavailable when the backend cannot be reached.
    """
    hub = _hub
    if hub is None:
        log.debug("broadcast not started: %s not published", channel)
        return
    data = json.dumps(message, separators=(",", ":"), default=str)
    if not hub.connected.is_set() and not await wait_connected(0.5):
        raise BroadcastUnavailable(f"no connection to the broadcast backend ({hub.last_error})")
    backend = hub.backend
    if backend is None:
        raise BroadcastUnavailable("no connection to the broadcast backend")
    try:
        await asyncio.wait_for(backend.publish(channel, data), PUBLISH_TIMEOUT)
    except (Exception, TimeoutError) as exc:
        raise BroadcastUnavailable(f"publishing to {channel} failed: {type(exc).__name__} {exc}") from exc


@contextlib.asynccontextmanager
async def _subscription(channel: str) -> AsyncIterator[Messages]:
    hub = _hub
    if hub is None:
        raise _unavailable("this process has not started them")
    found, subscriber = await hub.join(channel)
    try:
        yield Messages(subscriber)
    finally:
        subscriber.end(SubscriptionEnded(SubscriptionEnded.SHUTDOWN, "unsubscribed"), drop=True)
        await hub.leave(found, subscriber)


def subscribe(channel: str) -> AbstractAsyncContextManager[Messages]:
    """`async with subscribe(channel) as messages: async for message in messages: ...`

    When the block is entered, the subscription is in effect everywhere: anything published
    afterwards arrives. Raises SubscriptionEnded (UNAVAILABLE) when it cannot subscribe.
    """
    return _subscription(channel)


def stats() -> dict[str, Any]:
    """What this process holds now: for health checks and for tests that look for leaks."""
    hub = _hub
    if hub is None:
        return {"running": False, "channels": 0, "subscribers": 0, "queued": 0, "tasks": 0}
    everyone = [s for c in hub.channels.values() for s in c.subscribers]
    subscribers = [s for s in everyone if s.ended is None]
    backend = hub.backend
    pubsub = getattr(backend, "_pubsub", None)
    backend_channels = len(getattr(pubsub, "channels", None) or getattr(backend, "_subscribed", ()) or ())
    tasks = [t for t in (hub.reader, hub.supervisor, getattr(backend, "_listener", None)) if t is not None]
    return {
        "running": True,
        "backend": hub.kind,
        "connected": hub.connected.is_set(),
        "channels": len(hub.channels),
        # the backend's own subscriptions, the heartbeat channel included
        "backendChannels": backend_channels,
        "subscribers": len(subscribers),
        # ended, and gone once their task next looks (a cut-off one may be stuck sending)
        "ending": len(everyone) - len(subscribers),
        "queued": sum(len(s.items) for s in everyone),
        "pendingSyncs": len(hub.syncs),
        "tasks": sum(1 for t in tasks if isinstance(t, asyncio.Task) and not t.done()),
        "restarts": hub.restarts,
        "cutOff": hub.cut_off,
        "lastError": hub.last_error,
        "checkedAt": time.time(),
    }
