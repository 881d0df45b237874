"""Order intake over HTTP: placeOrder by store clients against one server process, and a plain SQL baseline.

    .venv/bin/python bench/order_intake.py [--clients 32] [--seconds 15] [--rounds 3] [--threads 2]

On PostgreSQL (BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres) it creates
a throwaway database, builds the schema from the models and gives two accounts the same shop:
60 variants priced RETAIL in one warehouse, 59 of them plentiful and one ("HOT", in about one
order in ten) with 300 units only, three managers on shift (round robin), 2,000 customers, a
WEB_STORE channel and a store API token with ORDERS_WRITE. Then, in one run:

- baseline: the same order transaction as plain asyncpg SQL, from `--clients` concurrent clients on
  a pool of 20 connections: the idempotency and customer look-ups, the prices, then in one
  transaction the order, its 3 lines, 3 conditional stock UPDATEs and the reservations, the order
  number and round-robin pointer on the account row, and the CREATED and ASSIGNED events;
- service: one uvicorn process (uvloop, httptools, no access log, a pool of 20 connections) and
  `wrk` (a Lua script: varied 3-line orders, a fresh externalId each, and one request in twenty a
  retry of the previous one, which must return the same order) with `--clients` connections.

After a warm-up the two alternate for `--rounds` rounds of `--seconds` each, so a busy machine
slows both alike. It prints orders/s, p50/p99 latency, and checks both accounts: no duplicate
(channel, externalId), numbers 1..n without gaps, no oversell (on hand ≥ reserved, reserved = open
reservations, HOT ordered ≤ 300). Needs `wrk` (apt-get install wrk). The database is dropped at
the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tortoise import Tortoise  # noqa: E402

from models.accounts import User  # noqa: E402
from models.customers import Customer, CustomerContact  # noqa: E402
from services import accounts, catalog, inventory, orders  # noqa: E402
from services.access import Actor, Role  # noqa: E402
from services.catalog import PriceSpec, ProductSpec, VariantSpec  # noqa: E402
from services.db import init_database  # noqa: E402
from services.inventory import DocumentLineSpec, DocumentSpec, WarehouseInput  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
VARIANTS = 60
HOT_STOCK = 300
CUSTOMERS = 2000
POOL = 20
PLACE = (
    "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {"
    " order { id number } userErrors { code } } }"
)


def _url(database: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


def _pg(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1).split("?")[0]


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_pg(ADMIN_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@dataclass
class Shop:
    account_id: uuid.UUID
    channel_id: uuid.UUID
    warehouse_id: uuid.UUID
    price_type_id: uuid.UUID
    token: str
    skus: list[str]


async def _shop(name: str) -> Shop:
    issued, user, account = await accounts.sign_up(
        company_name=name,
        email=f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com",
        password="bench-password",
        currency="RUB",
        timezone="Europe/Moscow",
        session_hours=1,
    )
    owner = Actor.for_user(account.id, user.id, Role.OWNER)
    skus = [f"V{i:03d}" for i in range(VARIANTS - 1)] + ["HOT"]
    variants = [VariantSpec(sku=s, prices=[PriceSpec("RETAIL", "99.90")]) for s in skus]
    await catalog.upsert_products(owner, [ProductSpec(article="BENCH", name="Bench", variants=variants)])
    warehouse = await inventory.create_warehouse(owner, WarehouseInput(name="Main", kind="OWN"))
    lines = [
        DocumentLineSpec(sku=s, quantity=HOT_STOCK if s == "HOT" else 1_000_000, unit_cost="10.00")
        for s in skus
    ]
    await inventory.post_document(owner, DocumentSpec(kind="RECEIPT", warehouse_id=warehouse.id, lines=lines))
    for index in range(3):
        manager = await accounts.create_user(
            owner,
            email=f"m{index}-{uuid.uuid4().hex[:8]}@example.com",
            name=f"M{index}",
            password="bench-password",
            role="MANAGER",
        )
        await User.filter(id=manager.id).update(on_shift=True)
    channel = await orders.create_sales_channel(
        owner, name="Web", kind="WEB_STORE", warehouse_id=warehouse.id
    )
    token = await accounts.create_api_token(owner, name="store", scopes=["ORDERS_WRITE", "ORDERS_READ"])
    people = [
        Customer(id=uuid.uuid4(), account_id=account.id, name=f"C{i}", emails=[f"c{i}@example.com"])
        for i in range(CUSTOMERS)
    ]
    await Customer.bulk_create(people, batch_size=500)
    await CustomerContact.bulk_create(
        [
            CustomerContact(
                id=uuid.uuid4(), account_id=account.id, customer_id=c.id, kind="EMAIL", value=c.emails[0]
            )
            for c in people
        ],
        batch_size=500,
    )
    return Shop(account.id, channel.id, warehouse.id, channel.price_type_id, token.token, skus)


def _pick_lines(skus: list[str]) -> list[tuple[str, int]]:
    """Three distinct variants, one in ten orders with the scarce HOT one first."""
    plain = random.sample(skus[:-1], 3)
    if random.random() < 0.1:
        plain[0] = "HOT"
    return [(plain[0], 1), (plain[1], random.randint(1, 3)), (plain[2], 1)]


# --- the baseline: the same order transaction as plain SQL ------------------------------------------


async def _baseline_order(pool: asyncpg.Pool, shop: Shop, external_id: str, email: str, lines) -> bool:
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        if await conn.fetchval(
            "SELECT id FROM customer_order WHERE account_id=$1 AND channel_id=$2 AND external_id=$3",
            shop.account_id,
            shop.channel_id,
            external_id,
        ):
            return True
        customer_id = await conn.fetchval(
            "SELECT customer_id FROM customer_contact WHERE account_id=$1 AND kind='EMAIL' AND value=$2",
            shop.account_id,
            email,
        )
        rows = await conn.fetch(
            "SELECT v.id, v.sku, p.amount_minor FROM variant v JOIN price p ON p.variant_id = v.id "
            "AND p.price_type_id = $3 WHERE v.account_id = $1 AND v.sku = ANY($2::text[])",
            shop.account_id,
            [sku for sku, _ in lines],
            shop.price_type_id,
        )
        by_sku = {r["sku"]: r for r in rows}
        order_id = uuid.uuid4()
        line_rows = []
        for position, (sku, quantity) in enumerate(lines):
            variant = by_sku[sku]
            total = variant["amount_minor"] * quantity
            line_rows.append(
                (uuid.uuid4(), position, variant["id"], quantity * 1000, variant["amount_minor"], total)
            )
        try:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO customer_order (id, account_id, created_at, channel_id, external_id,"
                    " content_hash, customer_id, status, payment_status, total_minor, paid_minor,"
                    " refunded_minor,"
                    " delivery_method, delivery_address, comment, confirm_deadline, updated_at)"
                    " VALUES ($1,$2,$3,$4,$5,'',$6,'NEW','UNPAID',$7,0,0,'','','',$8,$3)",
                    order_id,
                    shop.account_id,
                    now,
                    shop.channel_id,
                    external_id,
                    customer_id,
                    sum(r[5] for r in line_rows),
                    now + timedelta(minutes=5),
                )
                await conn.executemany(
                    "INSERT INTO order_line (id, account_id, created_at, order_id, position, variant_id,"
                    " warehouse_id, unit, quantity_milli, price_minor, total_minor)"
                    " VALUES ($1,$2,$3,$4,$5,$6,$7,'PCS',$8,$9,$10)",
                    [
                        (
                            r[0],
                            shop.account_id,
                            now,
                            order_id,
                            r[1],
                            r[2],
                            shop.warehouse_id,
                            r[3],
                            r[4],
                            r[5],
                        )
                        for r in line_rows
                    ],
                )
                for r in sorted(line_rows, key=lambda r: r[2]):
                    changed = await conn.execute(
                        "UPDATE stock_level SET reserved_milli = reserved_milli + $4, updated_at = $5"
                        " WHERE account_id=$1 AND warehouse_id=$2 AND variant_id=$3"
                        " AND on_hand_milli >= reserved_milli + $4",
                        shop.account_id,
                        shop.warehouse_id,
                        r[2],
                        r[3],
                        now,
                    )
                    if changed == "UPDATE 0":
                        raise _Short
                await conn.executemany(
                    "INSERT INTO stock_reservation (id, account_id, created_at, order_line_id,"
                    " warehouse_id, variant_id, quantity_milli, status, updated_at)"
                    " VALUES ($1,$2,$3,$4,$5,$6,$7,'OPEN',$3)",
                    [
                        (uuid.uuid4(), shop.account_id, now, r[0], shop.warehouse_id, r[2], r[3])
                        for r in line_rows
                    ],
                )
                account = await conn.fetchrow(
                    "SELECT last_order_number, last_assigned_manager_id FROM account WHERE id=$1"
                    " FOR NO KEY UPDATE",
                    shop.account_id,
                )
                managers = [
                    r["id"]
                    for r in await conn.fetch(
                        "SELECT id FROM app_user WHERE account_id=$1 AND role='MANAGER' AND is_active"
                        " AND on_shift ORDER BY id",
                        shop.account_id,
                    )
                ]
                previous = account["last_assigned_manager_id"]
                later = [m for m in managers if previous is None or m > previous]
                manager = (later or managers)[0]
                number = account["last_order_number"] + 1
                seq = await conn.fetchval(
                    "UPDATE account SET last_order_number=$2, last_assigned_manager_id=$3,"
                    " event_seq = event_seq + 2 WHERE id=$1 RETURNING event_seq",
                    shop.account_id,
                    number,
                    manager,
                )
                await conn.execute(
                    "UPDATE customer_order SET number=$2, manager_id=$3 WHERE id=$1",
                    order_id,
                    number,
                    manager,
                )
                payload = json.dumps(
                    {"number": number, "channel_id": str(shop.channel_id), "manager_id": str(manager)}
                )
                await conn.executemany(
                    "INSERT INTO account_event (id, account_id, created_at, position, topic, type, order_id,"
                    " actor_user_id, payload, at) VALUES ($1,$2,$3,$4,'orders',$5,$6,NULL,$7,$3)",
                    [
                        (uuid.uuid4(), shop.account_id, now, seq - 1, "CREATED", order_id, payload),
                        (uuid.uuid4(), shop.account_id, now, seq, "ASSIGNED", order_id, payload),
                    ],
                )
        except _Short:
            return False
    return True


class _Short(Exception):
    pass


async def _count_orders(database_url: str, shop: Shop) -> int:
    conn = await asyncpg.connect(_pg(database_url))
    try:
        return await conn.fetchval("SELECT count(*) FROM customer_order WHERE account_id=$1", shop.account_id)
    finally:
        await conn.close()


@dataclass
class Round:
    orders: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    short: int = 0
    failed: int = 0
    retries: int = 0
    failures: list[str] | None = None


async def _baseline_round(
    pool: asyncpg.Pool, database_url: str, shop: Shop, clients: int, seconds: float, run: str
) -> Round:
    latencies: list[float] = []
    short = retries = 0
    before = await _count_orders(database_url, shop)
    deadline = time.perf_counter() + seconds

    async def client(index: int) -> None:
        nonlocal short, retries
        count = 0
        previous: tuple | None = None
        while time.perf_counter() < deadline:
            if previous is not None and random.random() < 0.05:
                external_id, email, lines = previous
                retries += 1
            else:
                count += 1
                external_id = f"{run}-{index}-{count}"
                email = f"c{random.randrange(CUSTOMERS)}@example.com"
                lines = _pick_lines(shop.skus)
                previous = (external_id, email, lines)
            started = time.perf_counter()
            ok = await _baseline_order(pool, shop, external_id, email, lines)
            latencies.append(time.perf_counter() - started)
            short += not ok

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return Round(
        orders=await _count_orders(database_url, shop) - before,
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
        short=short,
        retries=retries,
    )


# --- the service: uvicorn + wrk -------------------------------------------------------------------

LUA = r"""
local token, channel, customers, run = "%(token)s", "%(channel)s", %(customers)d, "%(run)s"
local skus = {%(skus)s}
local query = "%(query)s"
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  ok, short, failed, replays, n = 0, 0, 0, 0, 0
  math.randomseed(os.time() * 1000 + id)
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
end

local function pick()
  local chosen, seen = {}, {}
  while #chosen < 3 do
    local sku = skus[math.random(#skus)]
    if not seen[sku] then seen[sku] = true; table.insert(chosen, sku) end
  end
  if math.random() < 0.1 then chosen[1] = "HOT" end
  return chosen
end

function request()
  local body
  if last and math.random() < 0.05 then
    body = last
    replays = replays + 1
  else
    n = n + 1
    local l = pick()
    body = string.format(
      '{"query":"%%s","variables":{"input":{"channelId":"%%s","externalId":"%%s-%%d-%%d",' ..
      '"customer":{"email":"c%%d@example.com"},"lines":[{"sku":"%%s","quantity":"1"},' ..
      '{"sku":"%%s","quantity":"%%d"},{"sku":"%%s","quantity":"1"}]}}}',
      query, channel, run, id, n, math.random(0, customers - 1), l[1], l[2], math.random(1, 3), l[3])
    last = body
  end
  return wrk.format("POST", "/graphql", headers, body)
end

function response(status, headers, body)
  if status == 200 and body:find('"userErrors":%%s*%%[%%]') then ok = ok + 1
  elseif status == 200 and body:find("INSUFFICIENT_STOCK") then short = short + 1
  else
    failed = failed + 1
    if failed == 1 then first_failure = status .. " " .. string.sub(body, 1, 300) end
  end
end

function done(summary, latency, requests)
  local t = {ok = 0, short = 0, failed = 0, replays = 0}
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + thread:get(k) end
  end
  io.write(string.format("LUA ok=%%d short=%%d failed=%%d replays=%%d\n", t.ok, t.short, t.failed, t.replays))
  io.write(string.format("LAT p50=%%d p99=%%d\n", latency:percentile(50), latency:percentile(99)))
  for _, thread in ipairs(threads) do
    local failure = thread:get("first_failure")
    if failure then io.write("FAILURE " .. failure .. "\n") end
  end
end
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _start_server(database_url: str) -> tuple[asyncio.subprocess.Process, int]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"{database_url}?minsize={POOL}&maxsize={POOL}",
        "LOG_LEVEL": "warning",
    }
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uvicorn",
        "api.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        cwd=ROOT,
        env=env,
    )
    end = time.time() + 30
    while time.time() < end:
        if server.returncode is not None:
            raise SystemExit("the server exited before it was ready")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return server, port
        except OSError:
            await asyncio.sleep(0.2)
    raise SystemExit("the server did not start")


async def _wrk_round(
    port: int, database_url: str, shop: Shop, clients: int, threads: int, seconds: int, run: str
) -> Round:
    script = LUA % {
        "token": shop.token,
        "channel": shop.channel_id,
        "customers": CUSTOMERS,
        "skus": ", ".join(f'"{s}"' for s in shop.skus[:-1]),
        "query": PLACE.replace('"', '\\"'),
        "run": run,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    before = await _count_orders(database_url, shop)
    process = await asyncio.create_subprocess_exec(
        "wrk",
        f"-t{threads}",
        f"-c{clients}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        handle.name,
        f"http://127.0.0.1:{port}/graphql",
        stdout=asyncio.subprocess.PIPE,
    )
    output = (await process.communicate())[0].decode()
    os.unlink(handle.name)
    counts = dict(re.findall(r"(\w+)=(\d+)", re.search(r"LUA (.*)", output).group(1)))
    latency = dict(re.findall(r"(\w+)=(\d+)", re.search(r"LAT (.*)", output).group(1)))
    return Round(
        orders=await _count_orders(database_url, shop) - before,
        requests=int(re.search(r"(\d+) requests in", output).group(1)),
        seconds=seconds,
        p50_ms=int(latency["p50"]) / 1000,
        p99_ms=int(latency["p99"]) / 1000,
        short=int(counts["short"]),
        failed=int(counts["failed"]),
        retries=int(counts["replays"]),
        failures=re.findall(r"FAILURE (.*)", output),
    )


# --- checks ------------------------------------------------------------------------------------------


async def _check(database_url: str, shop: Shop) -> dict:
    conn = await asyncpg.connect(_pg(database_url))
    try:
        a = shop.account_id
        # One statement, one snapshot: requests still in flight when wrk stops commit meanwhile.
        numbers = await conn.fetchrow(
            "SELECT count(*) orders, count(DISTINCT (channel_id, external_id)) distinct_ids,"
            " min(number) lo, max(number) hi, count(DISTINCT number) n FROM customer_order"
            " WHERE account_id=$1",
            a,
        )
        orders_n, distinct = numbers["orders"], numbers["distinct_ids"]
        bad_levels = await conn.fetchval(
            "SELECT count(*) FROM stock_level l WHERE l.account_id=$1 AND (l.on_hand_milli < l.reserved_milli"
            " OR l.reserved_milli <> COALESCE((SELECT sum(r.quantity_milli) FROM stock_reservation r"
            " WHERE r.account_id=l.account_id AND r.warehouse_id=l.warehouse_id AND r.variant_id=l.variant_id"
            " AND r.status='OPEN'), 0))",
            a,
        )
        hot = await conn.fetchval(
            "SELECT COALESCE(sum(ol.quantity_milli), 0) FROM order_line ol"
            " JOIN variant v ON v.id = ol.variant_id"
            " WHERE ol.account_id=$1 AND v.sku='HOT'",
            a,
        )
    finally:
        await conn.close()
    return {
        "orders": orders_n,
        "duplicates": orders_n - distinct,
        "gapless": numbers["lo"] == 1 and numbers["hi"] == numbers["n"] == orders_n,
        "numbers": f"{numbers['lo']}..{numbers['hi']}, {numbers['n']} distinct",
        "oversell": bad_levels + (1 if hot > HOT_STOCK * 1000 else 0),
        "hot_sold": hot // 1000,
    }


def _line(label: str, found: Round) -> str:
    return (
        f"  {label:30} {found.orders / found.seconds:7.1f} orders/s"
        f" {found.requests / found.seconds:7.1f} req/s"
        f"  p50 {found.p50_ms:6.1f} ms  p99 {found.p99_ms:7.1f} ms  short {found.short}"
        f"  failed {found.failed}  retries {found.retries}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=15, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    args = parser.parse_args()
    name = f"bo_bench_orders_{os.getpid()}"
    await _admin(f'CREATE DATABASE "{name}"')
    database_url = _url(name)
    server = None
    try:
        await init_database(database_url)
        await Tortoise.generate_schemas()
        service_shop = await _shop("Service")
        baseline_shop = await _shop("Baseline")
        await Tortoise.close_connections()
        pool = await asyncpg.create_pool(_pg(database_url), min_size=POOL, max_size=POOL)
        server, port = await _start_server(database_url)
        # Warm-up: the server's parser and validation caches and pool, the baseline's pool.
        await _wrk_round(port, database_url, service_shop, args.clients, args.threads, 3, "warm")
        await _baseline_round(pool, database_url, baseline_shop, args.clients, 2, "warm")
        baseline: list[Round] = []
        service: list[Round] = []
        print(
            f"order intake: {args.clients} clients, 3-line orders, PostgreSQL,"
            f" {args.rounds} rounds of {args.seconds} s"
        )
        for index in range(args.rounds):
            # Alternating, so a busy machine slows both alike.
            baseline.append(
                await _baseline_round(
                    pool, database_url, baseline_shop, args.clients, args.seconds, f"b{index}"
                )
            )
            print(_line(f"round {index + 1} baseline (asyncpg SQL)", baseline[-1]), flush=True)
            service.append(
                await _wrk_round(
                    port, database_url, service_shop, args.clients, args.threads, args.seconds, f"s{index}"
                )
            )
            print(_line(f"round {index + 1} service (HTTP, wrk)", service[-1]), flush=True)
        await pool.close()
        checks = {
            "baseline": await _check(database_url, baseline_shop),
            "service": await _check(database_url, service_shop),
        }
    finally:
        if server is not None and server.returncode is None:
            server.terminate()
            await server.wait()
        await Tortoise.close_connections()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def total(rounds: list[Round]) -> Round:
        return Round(
            orders=sum(r.orders for r in rounds),
            requests=sum(r.requests for r in rounds),
            seconds=sum(r.seconds for r in rounds),
            p50_ms=sorted(r.p50_ms for r in rounds)[len(rounds) // 2],
            p99_ms=max(r.p99_ms for r in rounds),
            short=sum(r.short for r in rounds),
            failed=sum(r.failed for r in rounds),
            retries=sum(r.retries for r in rounds),
        )

    base, serv = total(baseline), total(service)
    print(_line("all rounds baseline", base))
    print(_line("all rounds service", serv))
    print("  (all rounds: p50 is the median of the rounds' p50, p99 the worst round's p99)")
    for label, check in checks.items():
        print(
            f"  {label:8} orders {check['orders']}  duplicates {check['duplicates']}"
            f"  oversell {check['oversell']}"
            f"  numbers gapless {check['gapless']} ({check['numbers']})"
            f"  HOT sold {check['hot_sold']}/{HOT_STOCK}"
        )
    failures = [f for r in service for f in r.failures or []]
    for failure in failures[:3]:
        print(f"  a failed request: {failure[:300]}")
    ratio = (serv.orders / serv.seconds) / (base.orders / base.seconds)
    print(f"  ratio service/baseline: {ratio:.2f} (target >= 0.5)")


if __name__ == "__main__":
    asyncio.run(main())
