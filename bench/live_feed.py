"""Live feed benchmark: subscribers over several server processes with Redis, while orders are placed.

    .venv/bin/python bench/live_feed.py [--subscribers 1000] [--servers 2] [--rate 5] [--seconds 20]

Needs PostgreSQL (TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test: a throwaway
database is made next to it and dropped) and Redis (TEST_REDIS_URL). It starts `--servers`
uvicorn processes, signs up one company with stock and a sales channel, and opens
`--subscribers` WebSocket subscriptions to `orderEvents(types: [CREATED])` (with the order's
number, status and manager, read per event), spread evenly over the servers and over
`--clients` client processes. Then it places orders with `placeOrder` over HTTP at `--rate`
per second, alternately through each server, for `--seconds`.

Reported: delivery latency (the event's `at`, stamped in the placing transaction, to its arrival
at the subscriber; same host clock), p50/p90/p99/max, and lost events (every subscriber must get
every order placed: subscriptions start from a marker event with `afterEventId`, so a late one
replays rather than misses) and duplicates. Targets: p99 < 250 ms, lost 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import websockets  # noqa: E402

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

SELECTIONS = {
    "order": "id type at orderId order { id number status manager { id } }",
    "event": "id type at orderId",
}
SUBSCRIPTION = """subscription($after: ID) { orderEvents(afterEventId: $after, types: [CREATED]) { %s } }"""
SIGN_UP = """mutation($input: SignUpInput!) { signUp(input: $input) {
  token account { id } userErrors { message } } }"""
UPSERT = """mutation($input: UpsertProductsInput!) { upsertProducts(input: $input) {
  products { variants { id sku } } userErrors { message } } }"""
WAREHOUSE = """mutation($input: CreateWarehouseInput!) { createWarehouse(input: $input) {
  warehouse { id } userErrors { message } } }"""
RECEIVE = """mutation($input: PostStockDocumentInput!) { postStockDocument(input: $input) {
  userErrors { message } } }"""
CHANNEL = """mutation($input: CreateSalesChannelInput!) { createSalesChannel(input: $input) {
  salesChannel { id } userErrors { message } } }"""
PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id number } userErrors { field code message } } }"""


# --- client processes ------------------------------------------------------------------------


async def _subscriber(url: str, token: str, after: str, query: str, state: dict, index: int) -> None:
    received: dict[str, float] = state["received"][index]
    async with websockets.connect(
        url, subprotocols=["graphql-transport-ws"], proxy=None, compression=None, open_timeout=30
    ) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        async with asyncio.timeout(30):
            assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": query, "variables": {"after": after}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        state["connected"] += 1
        async for raw in ws:
            now = time.time()
            message = json.loads(raw)
            if message["type"] == "ping":
                await ws.send('{"type":"pong"}')
                continue
            if message["type"] != "next":
                state["ended"].append(message)
                return
            if message["payload"].get("errors"):
                state["ended"].append(message["payload"]["errors"])
                return
            event = message["payload"]["data"]["orderEvents"]
            order_id = event["orderId"]
            if order_id in received:
                state["duplicates"] += 1
                continue
            received[order_id] = now - datetime.fromisoformat(event["at"]).timestamp()


async def _client_main(
    urls: list[str], token: str, after: str, query: str, count: int, inbox: Any, outbox: Any
) -> None:
    state: dict[str, Any] = {
        "received": [{} for _ in range(count)],
        "connected": 0,
        "ended": [],
        "duplicates": 0,
    }
    tasks = []
    for i in range(count):
        tasks.append(asyncio.create_task(_subscriber(urls[i % len(urls)], token, after, query, state, i)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # do not stampede the servers' accept queues
    while True:  # instructions from the main process
        command = await asyncio.to_thread(inbox.get)
        if command["do"] == "wait":  # until every subscriber has these orders, or no progress
            wanted = set(command["orders"])
            deadline = time.monotonic() + command["within"]
            last, progress_at = -1, time.monotonic()
            while time.monotonic() < deadline:
                if all(wanted <= r.keys() for r in state["received"]):
                    break
                count = sum(len(r) for r in state["received"])
                if count != last:
                    last, progress_at = count, time.monotonic()
                elif time.monotonic() - progress_at > 10:
                    break  # nothing more is coming
                await asyncio.sleep(0.05)
            missing = sum(len(wanted - r.keys()) for r in state["received"])
            outbox.put({"missing": missing, "connected": state["connected"], "ended": state["ended"][:3]})
        elif command["do"] == "report":
            wanted = set(command["orders"])
            latencies = [lat for r in state["received"] for oid, lat in r.items() if oid in wanted]
            missing = sum(len(wanted - r.keys()) for r in state["received"])
            outbox.put(
                {
                    "latencies": latencies,
                    "missing": missing,
                    "duplicates": state["duplicates"],
                    "ended": len(state["ended"]),
                }
            )
            break
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _client_process(
    urls: list[str], token: str, after: str, query: str, count: int, inbox: Any, outbox: Any
) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_client_main(urls, token, after, query, count, inbox, outbox))


# --- the main process --------------------------------------------------------------------------


async def _gql(
    http: httpx.AsyncClient, url: str, query: str, variables: dict, token: str | None = None
) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(url, json={"query": query, "variables": variables}, headers=headers)
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


async def _setup_company(http: httpx.AsyncClient, url: str) -> tuple[str, str, str]:
    data = await _gql(
        http,
        url,
        SIGN_UP,
        {
            "input": {
                "companyName": "Bench",
                "email": f"bench-{uuid.uuid4().hex[:8]}@example.com",
                "password": "x" * 12,
            }
        },
    )
    token = data["signUp"]["token"]
    product = {
        "article": "BENCH-1",
        "name": "Thing",
        "variants": [{"sku": "BENCH-1", "prices": [{"priceType": "RETAIL", "amount": "10.00"}]}],
    }
    await _gql(http, url, UPSERT, {"input": {"products": [product]}}, token)
    warehouse = (await _gql(http, url, WAREHOUSE, {"input": {"name": "Main"}}, token))["createWarehouse"]
    warehouse_id = warehouse["warehouse"]["id"]
    line = {"sku": "BENCH-1", "quantity": "1000000", "unitCost": "5.00"}
    await _gql(
        http,
        url,
        RECEIVE,
        {"input": {"kind": "RECEIPT", "warehouseId": warehouse_id, "lines": [line]}},
        token,
    )
    channel = await _gql(
        http,
        url,
        CHANNEL,
        {"input": {"name": "Web", "kind": "WEB_STORE", "warehouseId": warehouse_id}},
        token,
    )
    return token, data["signUp"]["account"]["id"], channel["createSalesChannel"]["salesChannel"]["id"]


async def _place(http: httpx.AsyncClient, url: str, token: str, channel_id: str) -> tuple[str, float]:
    began = time.perf_counter()
    order = {
        "channelId": channel_id,
        "lines": [{"sku": "BENCH-1", "quantity": "1"}],
        "customer": {"name": "Ann", "email": "ann@example.com"},
    }
    data = await _gql(http, url, PLACE, {"input": order}, token)
    payload = data["placeOrder"]
    if payload["userErrors"]:
        raise RuntimeError(payload["userErrors"])
    return payload["order"]["id"], time.perf_counter() - began


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def main(args: argparse.Namespace) -> None:
    import asyncpg
    from tortoise import Tortoise

    from models.events import Event
    from services.db import init_database
    from tests.live_helpers import ServerProcess

    admin = PG_ADMIN_URL.replace("postgres://", "postgresql://")
    name = f"bo_bench_live_{os.getpid()}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    database_url = f"{PG_ADMIN_URL.rpartition('/')[0]}/{name}?minsize=1&maxsize=10"
    servers: list[ServerProcess] = []
    clients: list[Any] = []
    query = SUBSCRIPTION % SELECTIONS[args.select]
    try:
        await init_database(database_url)
        await Tortoise.generate_schemas()
        servers = [ServerProcess(database_url, REDIS_URL) for _ in range(args.servers)]
        await asyncio.gather(*(s.start(within=30) for s in servers))
        urls = [f"{s.http_url}/graphql" for s in servers]
        async with httpx.AsyncClient(timeout=30) as http:
            token, account_id, channel_id = await _setup_company(http, urls[0])
            await _place(http, urls[0], token, channel_id)
            marker = await Event.filter(account_id=account_id).order_by("-position").first()
            assert marker is not None
            ctx = mp.get_context("spawn")
            outbox = ctx.Queue()
            per_client = [
                args.subscribers // args.clients + (i < args.subscribers % args.clients)
                for i in range(args.clients)
            ]
            inboxes = []
            for count in per_client:
                inbox = ctx.Queue()
                process = ctx.Process(
                    target=_client_process,
                    args=([s.ws_url for s in servers], token, str(marker.id), query, count, inbox, outbox),
                    daemon=True,
                )
                process.start()
                clients.append(process)
                inboxes.append(inbox)
            # Warm up: every subscriber has one order placed after it connected (through each server).
            began = time.monotonic()
            warm = [(await _place(http, url, token, channel_id))[0] for url in urls]
            for inbox in inboxes:
                inbox.put({"do": "wait", "orders": warm, "within": 120})
            replies = [await asyncio.to_thread(outbox.get, True, 180) for _ in inboxes]
            if any(r["missing"] for r in replies):
                raise RuntimeError(f"subscribers not ready: {replies}")
            ready = time.monotonic() - began
            print(f"{args.subscribers} subscribers on {args.servers} servers ready in {ready:.1f}s")

            placed: list[str] = []
            place_times: list[float] = []
            interval = 1.0 / args.rate
            pending: set[asyncio.Task] = set()
            start = time.monotonic()
            total = int(args.rate * args.seconds)

            async def one(i: int) -> None:
                order_id, took = await _place(http, urls[i % len(urls)], token, channel_id)
                placed.append(order_id)
                place_times.append(took)

            for i in range(total):
                await asyncio.sleep(max(0.0, start + i * interval - time.monotonic()))
                task = asyncio.create_task(one(i))
                pending.add(task)
                task.add_done_callback(pending.discard)
            await asyncio.gather(*pending)
            elapsed = time.monotonic() - start
            for inbox in inboxes:
                inbox.put({"do": "wait", "orders": placed, "within": 120})
            [await asyncio.to_thread(outbox.get, True, 180) for _ in inboxes]
            for inbox in inboxes:
                inbox.put({"do": "report", "orders": placed})
            reports = [await asyncio.to_thread(outbox.get, True, 60) for _ in inboxes]
            stats = [await s.stats() for s in servers]
    finally:
        for process in clients:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
        await asyncio.gather(*(s.stop() for s in servers))
        await Tortoise.close_connections()
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    latencies = [lat * 1000 for r in reports for lat in r["latencies"]]
    expected = len(placed) * args.subscribers
    lost = sum(r["missing"] for r in reports)
    print(
        json.dumps(
            {
                "events": "placeOrder over HTTP (CREATED events), alternately through each server",
                "servers": args.servers,
                "subscribers": args.subscribers,
                "client_processes": args.clients,
                "selection": SELECTIONS[args.select],
                "orders": len(placed),
                "orders_per_s": round(len(placed) / elapsed, 1),
                "deliveries_expected": expected,
                "deliveries": len(latencies),
                "deliveries_per_s": round(len(latencies) / elapsed),
                "latency_ms": {
                    "p50": round(statistics.median(latencies), 1),
                    "p90": round(_percentile(latencies, 0.90), 1),
                    "p99": round(_percentile(latencies, 0.99), 1),
                    "max": round(max(latencies), 1),
                },
                "lost": lost,  # never arrived (waited until 10 s without progress)
                "late_over_1s": sum(1 for lat in latencies if lat > 1000),
                "duplicates": sum(r["duplicates"] for r in reports),
                "subscriptions_ended": sum(r["ended"] for r in reports),
                "place_order_ms_p50": round(statistics.median(place_times) * 1000, 1),
                "server_cut_off": [s.get("cutOff") for s in stats],
                "server_restarts": [s.get("restarts") for s in stats],
                "target": "p99 < 250 ms, lost 0",
                "met": _percentile(latencies, 0.99) < 250 and lost == 0,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=2, help="client processes holding the subscriptions")
    parser.add_argument("--rate", type=float, default=5.0, help="orders placed per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--select", choices=sorted(SELECTIONS), default="order", help="what each event asks for"
    )
    asyncio.run(main(parser.parse_args()))
