"""Live feeds: `orderEvents` over real uvicorn processes and a real Redis.

The servers run `uvicorn api.main:app` on loopback against the test database; events come from
orders placed through a server, or are recorded by this process through services.events (which
publishes through Redis too, as another server process would). Nothing of our stack is mocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid

import pytest
import redis.asyncio as aioredis
import websockets

from models.events import Event
from services import broadcast, events
from services.db import transaction
from tests.conftest import REDIS_UP, REDIS_URL, Company, sign_up
from tests.live_helpers import (
    LEGACY_WS,
    ORDER_EVENTS,
    ROOT,
    TRANSPORT_WS,
    Ended,
    LiveClient,
    Rejected,
    ServerProcess,
    wait_until,
)
from tests.test_accounts import add_token
from tests.test_orders_helpers import PLACE, SET_STATUS, open_shop, order_input

pytestmark = pytest.mark.redis
PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]
WITH_ORDER = """subscription($after: ID) { orderEvents(afterEventId: $after) {
  id type fromStatus toStatus orderId order { id number status } } }"""


@pytest.fixture(scope="module")
async def live(backend):
    """This process publishes through Redis, like a server process."""
    if not REDIS_UP:
        pytest.skip("Redis is not reachable")
    await broadcast.start(REDIS_URL)
    yield REDIS_URL
    await broadcast.stop()


@pytest.fixture(scope="module")
async def server(backend, live):
    process = await ServerProcess(backend.database_url, live).start()
    yield process
    await process.stop()


@pytest.fixture(scope="module")
async def other_server(backend, live):
    if backend.name != "postgres":
        pytest.skip("two server processes need PostgreSQL")
    process = await ServerProcess(backend.database_url, live).start()
    yield process
    await process.stop()


async def emit(
    account_id: str, type: str = "CREATED", *, order_id: uuid.UUID | None = None, **payload
) -> Event:
    """Records an order event in its own transaction; it is published through Redis on commit."""
    async with transaction():
        return await events.record(
            uuid.UUID(account_id),
            topic="orders",
            type=type,
            payload=payload,
            order_id=order_id or uuid.uuid4(),
        )


def ids(received: list[dict]) -> list[str]:
    return [e["id"] for e in received]


@contextlib.asynccontextmanager
async def connected(server: ServerProcess, token: str, protocol: str = TRANSPORT_WS):
    client = await LiveClient.connect(server.ws_url, token, protocol)
    try:
        yield client
    finally:
        await client.close()


@pytest.mark.postgres_only
async def test_an_order_placed_through_one_server_reaches_a_subscriber_on_the_other(
    db, redis_url, server, other_server, company
):
    shop = await open_shop(company)
    start = str((await emit(company.account_id)).id)
    async with connected(other_server, company.token) as client:
        op = await client.subscribe(WITH_ORDER, {"after": start})
        placed = await server.graphql(PLACE, {"input": order_input(shop, [("A", 1)])}, company.token)
        order = placed["data"]["placeOrder"]["order"]
        event = (await client.next(op, within=10))["orderEvents"]
        assert event["type"] == "CREATED"
        assert event["orderId"] == order["id"]
        assert event["order"] == {"id": order["id"], "number": order["number"], "status": "NEW"}


async def test_each_event_reads_the_order_afresh_not_from_an_earlier_events_cache(
    db, redis_url, server, company
):
    shop = await open_shop(company)
    start = str((await emit(company.account_id)).id)
    async with connected(server, company.token, LEGACY_WS) as client:
        op = await client.subscribe(WITH_ORDER, {"after": start})
        placed = await server.graphql(PLACE, {"input": order_input(shop, [("A", 1)])}, company.token)
        order_id = placed["data"]["placeOrder"]["order"]["id"]
        created = (await client.next(op, within=10))["orderEvents"]
        assert created["order"]["status"] == "NEW"
        changed = await server.graphql(
            SET_STATUS, {"input": {"orderId": order_id, "status": "CONFIRMED"}}, company.token
        )
        assert changed["data"]["setOrderStatus"]["userErrors"] == []
        event = (await client.next(op, within=10))["orderEvents"]
        assert (event["type"], event["fromStatus"], event["toStatus"]) == (
            "STATUS_CHANGED",
            "NEW",
            "CONFIRMED",
        )
        assert event["order"]["status"] == "CONFIRMED"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_resumed_feed_gives_what_was_missed_then_live_events_each_once(
    db, redis_url, server, company, protocol
):
    before = await emit(company.account_id)
    async with connected(server, company.token, protocol) as client:
        op = await client.subscribe(ORDER_EVENTS)
        assert await client.quiet(op, 0.3), "a fresh feed starts now, not with the past"
        first = await emit(company.account_id)  # the feed has been open for 0.3 s: it is live
        assert ids(await client.events(op, 1)) == [str(first.id)]
    missed = [await emit(company.account_id, "STATUS_CHANGED", from_status="NEW", to_status="CONFIRMED")]
    missed.append(await emit(company.account_id, "PAID"))
    async with connected(server, company.token, protocol) as client:
        op = await client.subscribe(ORDER_EVENTS, {"afterEventId": str(first.id)})
        replayed = await client.events(op, 2)
        assert ids(replayed) == [str(e.id) for e in missed]
        assert (replayed[0]["fromStatus"], replayed[0]["toStatus"]) == ("NEW", "CONFIRMED")
        later = await emit(company.account_id, "ASSIGNED")
        assert ids(await client.events(op, 1)) == [str(later.id)]
        assert await client.quiet(op, 0.3)
    assert before.position < first.position


async def test_resuming_while_events_keep_coming_has_no_gap_or_duplicate_at_the_seam(
    db, redis_url, server, company
):
    first = await emit(company.account_id)
    emitted: list[Event] = []

    async def producer() -> None:
        for _ in range(40):
            emitted.append(await emit(company.account_id, "COMMENTED"))
            await asyncio.sleep(0.005)

    async with connected(server, company.token) as client:
        task = asyncio.create_task(producer())
        await asyncio.sleep(0.05)
        op = await client.subscribe(ORDER_EVENTS, {"afterEventId": str(first.id)})
        async with asyncio.timeout(20):
            await task
        received = await client.events(op, 40, within=10)
        assert ids(received) == [str(e.id) for e in emitted]
        assert await client.quiet(op, 0.3)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_filters_by_type_channel_and_mine(db, redis_url, server, company, protocol):
    channel, other_channel, me = str(uuid.uuid4()), str(uuid.uuid4()), company.user_id
    start = str((await emit(company.account_id)).id)  # whenever the feeds start, they start here
    async with connected(server, company.token, protocol) as client:
        by_type = await client.subscribe(
            ORDER_EVENTS, {"types": ["PAID", "DEADLINE_MISSED"], "afterEventId": start}
        )
        by_channel = await client.subscribe(ORDER_EVENTS, {"channelIds": [channel], "afterEventId": start})
        mine = await client.subscribe(ORDER_EVENTS, {"mine": True, "afterEventId": start})
        created = await emit(company.account_id, "CREATED", channel_id=channel, manager_id=None)
        paid = await emit(company.account_id, "PAID", channel_id=other_channel, manager_id=me)
        assigned = await emit(
            company.account_id, "ASSIGNED", channel_id=other_channel, manager_id=str(uuid.uuid4())
        )
        missed = await emit(company.account_id, "DEADLINE_MISSED", channel_id=channel, manager_id=me)
        assert ids(await client.events(by_type, 2)) == [str(paid.id), str(missed.id)]
        assert ids(await client.events(by_channel, 2)) == [str(created.id), str(missed.id)]
        assert ids(await client.events(mine, 2)) == [str(paid.id), str(missed.id)]
        for op in (by_type, by_channel, mine):
            assert await client.quiet(op, 0.2)
        assert assigned.type == "ASSIGNED"


async def test_subscribers_asking_different_things_of_one_event_each_get_theirs(
    db, redis_url, server, company
):
    start = {"afterEventId": str((await emit(company.account_id)).id)}
    small = "subscription($afterEventId: ID) { orderEvents(afterEventId: $afterEventId) { id } }"
    async with connected(server, company.token) as one, connected(server, company.token, LEGACY_WS) as two:
        ops = [
            (one, await one.subscribe(small, start)),
            (one, await one.subscribe(ORDER_EVENTS, start)),
            (two, await two.subscribe(ORDER_EVENTS, start)),
            (two, await two.subscribe(ORDER_EVENTS, {**start, "types": ["PAID"]})),
        ]
        event = await emit(company.account_id, "STATUS_CHANGED", from_status="NEW", to_status="PACKED")
        shapes = [await c.events(op, 1) for c, op in ops[:3]]
        assert shapes[0] == [{"id": str(event.id)}]
        assert shapes[1] == shapes[2]
        assert shapes[1][0]["toStatus"] == "PACKED" and shapes[1][0]["orderId"] == str(event.order_id)
        assert await two.quiet(ops[3][1], 0.3)


async def test_an_unexpected_error_in_an_event_is_masked_and_the_feed_goes_on(db, redis_url, server, company):
    start = {"afterEventId": str((await emit(company.account_id)).id)}
    async with connected(server, company.token) as client:
        op = await client.subscribe(ORDER_EVENTS, start)
        await emit(company.account_id, "NOT_A_TYPE_OF_OURS")  # its `type` field cannot resolve
        with pytest.raises(Ended) as ended:
            await client.next(op)
        error = ended.value.errors[0]
        assert error["extensions"]["code"] == "INTERNAL_ERROR" and "NOT_A_TYPE" not in error["message"]
        later = await emit(company.account_id, "PAID")
        assert ids(await client.events(op, 1)) == [str(later.id)]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_connection_without_a_valid_token_is_refused(db, redis_url, server, company, protocol):
    for token in (None, "bos_not-a-token"):
        with pytest.raises(Rejected):
            await LiveClient.connect(server.ws_url, token, protocol)
    with pytest.raises(Rejected):
        await LiveClient.connect(server.ws_url, None, protocol, payload={"authorization": company.token})
    async with connected(server, company.token, protocol) as client:  # the same token, well formed
        op = await client.subscribe("subscription { orderEvents { id } }")
        assert await client.quiet(op, 0.2)


async def test_a_store_token_without_orders_read_gets_forbidden(db, redis_url, server, company):
    api = await add_token(company, ["CATALOG_READ"])
    async with connected(server, api.token) as client:
        op = await client.subscribe(ORDER_EVENTS)
        with pytest.raises(Ended) as ended:
            await client.next(op)
        assert ended.value.errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_subscriber_only_ever_sees_its_own_accounts_events(db, redis_url, server, client, company):
    other: Company = await sign_up(client, name="Other shop")
    theirs = await emit(company.account_id)
    async with connected(server, other.token) as feed:
        op = await feed.subscribe(ORDER_EVENTS)
        spy = await feed.subscribe(ORDER_EVENTS, {"afterEventId": str(theirs.id)})
        with pytest.raises(Ended) as ended:
            await feed.next(spy)
        assert ended.value.errors[0]["extensions"]["code"] == "NOT_FOUND"
        await emit(company.account_id)
        ours = await emit(other.account_id)
        assert ids(await feed.events(op, 1)) == [str(ours.id)]
        assert await feed.quiet(op, 0.3)


async def test_500_subscriptions_opened_and_dropped_leave_tasks_and_queues_as_they_were(
    db, redis_url, server, company
):
    baseline = await server.stats()
    start = {"afterEventId": str((await emit(company.account_id)).id)}
    clients = [await LiveClient.connect(server.ws_url, company.token, PROTOCOLS[i % 2]) for i in range(50)]
    ops = [(c, await c.subscribe(ORDER_EVENTS, start)) for c in clients for _ in range(10)]
    stats = await wait_until(
        lambda: _stats_if(server, lambda s: s["subscribers"] == baseline["subscribers"] + 500), within=15
    )
    assert stats and stats["subscribers"] == baseline["subscribers"] + 500
    event = await emit(company.account_id)
    for c, op in ops:
        assert ids(await c.events(op, 1, within=10)) == [str(event.id)]
    # A third stop their subscriptions, a third close cleanly, a third vanish (TCP reset).
    for c in clients[:17]:
        for op in list(c.queues):
            await c.stop(op)
    for c in clients[17:34]:
        await c.close()
    for c in clients[34:]:
        c.abort()

    def back(s: dict) -> bool:
        keys = ("subscribers", "channels", "queued", "backendChannels", "tasks", "pendingSyncs")
        return all(s[k] == baseline[k] for k in keys) and s["processTasks"] <= baseline["processTasks"] + 17

    stats = await wait_until(lambda: _stats_if(server, back), within=15)
    assert stats, await server.stats()
    for c in clients[:34]:
        await c.close()
    stats = await wait_until(
        lambda: _stats_if(server, lambda s: back(s) and s["processTasks"] == baseline["processTasks"]),
        within=10,
    )
    assert stats, (baseline, await server.stats())
    async with aioredis.from_url(redis_url) as r:
        counts = dict(await r.pubsub_numsub(events.channel(company.account_id, "orders")))
        assert list(counts.values()) == [0]


async def _stats_if(server: ServerProcess, check) -> dict | None:
    stats = await server.stats()
    return stats if check(stats) else None


async def test_when_redis_drops_the_pubsub_connections_no_subscriber_is_left_hanging(
    db, redis_url, server, company
):
    before = await server.stats()
    start = {"afterEventId": str((await emit(company.account_id)).id)}
    clients = [await LiveClient.connect(server.ws_url, company.token, p) for p in PROTOCOLS]
    ops = [await c.subscribe(ORDER_EVENTS, start) for c in clients]
    first = await emit(company.account_id)
    for c, op in zip(clients, ops, strict=True):
        assert ids(await c.events(op, 1)) == [str(first.id)]
    async with aioredis.from_url(redis_url) as r:
        assert await r.client_kill_filter(_type="pubsub") >= 1
    during = await emit(company.account_id)  # published while the server reconnects: maybe lost live
    stats = await wait_until(
        lambda: _stats_if(server, lambda s: s["connected"] and s["restarts"] > before["restarts"]), within=10
    )
    assert stats, await server.stats()
    after = await emit(company.account_id)
    for c, op in zip(clients, ops, strict=True):
        assert ids(await c.events(op, 2, within=10)) == [str(during.id), str(after.id)]
        assert await c.quiet(op, 0.2)
    for c in clients:
        await c.close()


async def test_a_slow_subscriber_is_cut_off_while_a_fast_one_keeps_up(db, redis_url, server, company):
    channel = events.channel(company.account_id, "orders")
    fast = await LiveClient.connect(server.ws_url, company.token)
    fast_op = await fast.subscribe("subscription { orderEvents { id } }")
    # The slow client reads nothing: its socket buffers fill, then the server's queue for it.
    slow = await websockets.connect(
        server.ws_url, subprotocols=[TRANSPORT_WS], max_queue=1, proxy=None, compression=None
    )
    await slow.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {company.token}"}})
    )
    async with asyncio.timeout(5):
        assert json.loads(await slow.recv())["type"] == "connection_ack"
    # Long aliases make each event about 6 kB, so the socket buffers (megabytes) fill sooner.
    wide = " ".join(f"{'a' * 200}{i}: at {'b' * 200}{i}: id" for i in range(14))
    payload = {"query": f"subscription {{ orderEvents {{ id {wide} }} }}"}
    await slow.send(json.dumps({"id": "slow", "type": "subscribe", "payload": payload}))
    before = await server.stats()
    await wait_until(lambda: _stats_if(server, lambda s: s["subscribers"] >= 2), within=5)
    # Publications straight through Redis (positions chained as services.events makes them).
    start = await events.last_position(uuid.UUID(company.account_id), "orders")
    sent = 0
    cut = None
    async with aioredis.from_url(redis_url) as r:
        for _batch in range(100):
            async with r.pipeline(transaction=False) as pipe:
                for _ in range(100):
                    sent += 1
                    message = {
                        "id": str(uuid.uuid4()),
                        "position": start + sent,
                        "prev": start + sent - 1,
                        "topic": "orders",
                        "type": "COMMENTED",
                        "at": "2025-01-01T00:00:00+00:00",
                        "order_id": None,
                        "payload": {"comment": "x" * 150},
                    }
                    pipe.publish(channel, json.dumps(message))
                await pipe.execute()
            await asyncio.sleep(0.05)
            if _batch % 4 == 3:
                cut = await _stats_if(server, lambda s: s["cutOff"] > before["cutOff"])
                if cut:
                    break
    assert cut, (sent, await server.stats())
    received = []
    async with asyncio.timeout(20):
        while len(received) < sent:
            received.append((await fast.next(fast_op))["orderEvents"]["id"])
    assert len(received) == sent  # the fast one got everything
    stats = await server.stats()
    assert stats["queued"] == 0 and stats["subscribers"] == 1  # the slow one holds no queue
    # The slow client, reading at last, finds its feed ended with the reason.
    ended = None
    async with asyncio.timeout(20):
        async for raw in slow:
            message = json.loads(raw)
            if message["type"] == "next" and message["payload"].get("errors"):
                ended = message["payload"]["errors"][0]["extensions"]
            if message["type"] == "complete":
                break
    assert ended is not None and ended["code"] == "SUBSCRIPTION_ENDED" and ended["reason"] == "TOO_SLOW"
    await slow.close()
    await fast.close()


@pytest.mark.postgres_only
async def test_serve_with_workers_runs_processes_that_share_live_events(db, redis_url, backend, company):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    refused = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "api.cli",
        "serve",
        "--workers",
        "2",
        cwd=ROOT,
        env={**env, "DATABASE_URL": backend.database_url},
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        _, error = await refused.communicate()
    assert refused.returncode != 0 and b"REDIS_URL" in error
    command = [sys.executable, "-m", "api.cli", "serve", "--workers", "2"]
    process = await ServerProcess(backend.database_url, redis_url, command=command).start(within=30)
    try:
        start = {"afterEventId": str((await emit(company.account_id)).id)}
        clients = [await LiveClient.connect(process.ws_url, company.token) for _ in range(8)]
        ops = [await c.subscribe(ORDER_EVENTS, start) for c in clients]
        event = await emit(company.account_id)
        for c, op in zip(clients, ops, strict=True):
            assert ids(await c.events(op, 1, within=10)) == [str(event.id)]
        for c in clients:
            await c.close()
    finally:
        await process.stop()
