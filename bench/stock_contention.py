"""Reservations per second on hot rows: services.inventory against plain asyncpg SQL.

    .venv/bin/python bench/stock_contention.py [--clients 32] [--variants 10] [--seconds 10] [--rounds 3]

On PostgreSQL (BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres) it
creates a throwaway database, builds the schema from the models, and gives two accounts the
same stock: 10 variants in one warehouse, plenty on hand. Then, in one run and on one event
loop, `--clients` concurrent clients reserve 1 unit of a random hot variant each, over and over:

- service: `services.inventory.reserve_stock` (its own transaction, the idempotency read, the
  conditional UPDATE, the reservation INSERT, and the after-commit publish on `memory://`);
- baseline: plain asyncpg, per reservation one transaction with one conditional UPDATE and one
  INSERT, on a pool of `--clients` connections.

The two alternate for `--rounds` rounds of `--seconds` each, so a busy machine slows both
alike. It prints each round and the overall rates and service/baseline (the target is ≥ 0.5),
checks that reserved equals the sum of the reservations for both accounts, and drops the
database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tortoise import Tortoise  # noqa: E402

from models.accounts import Account  # noqa: E402
from models.inventory import Reservation, StockLevel  # noqa: E402
from services import catalog, inventory  # noqa: E402
from services.access import Actor  # noqa: E402
from services.catalog import ProductSpec, VariantSpec  # noqa: E402
from services.db import init_database  # noqa: E402
from services.inventory import DocumentLineSpec, DocumentSpec, ReservationRequest, WarehouseInput  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
ON_HAND = 10_000_000  # units per variant: never short, so every call is a success


def _url(database: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _stocked_account(name: str, variants: int) -> tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]]:
    account = await Account.create(id=uuid.uuid4(), name=name)
    actor = Actor.system(account.id)
    skus = [f"HOT-{i}" for i in range(variants)]
    await catalog.upsert_products(
        actor, [ProductSpec(article="HOT", name="Hot", variants=[VariantSpec(sku=s) for s in skus])]
    )
    warehouse = await inventory.create_warehouse(actor, WarehouseInput(name="Main", kind="OWN"))
    lines = [DocumentLineSpec(sku=s, quantity=ON_HAND, unit_cost="1.00") for s in skus]
    await inventory.post_document(actor, DocumentSpec(kind="RECEIPT", warehouse_id=warehouse.id, lines=lines))
    ids = list(
        await catalog.Variant.filter(account_id=account.id).order_by("sku").values_list("id", flat=True)
    )
    return account.id, warehouse.id, ids


async def _drive(clients: int, seconds: float, one: object) -> tuple[int, float]:
    """Runs `clients` loops of `one()` for `seconds` after a short warm-up; (calls, elapsed)."""
    done = 0
    measuring = False
    stop_at = time.perf_counter() + 1.0 + seconds

    async def client(seed: int) -> None:
        nonlocal done
        rng = random.Random(seed)
        while time.perf_counter() < stop_at:
            await one(rng)  # type: ignore[operator]
            if measuring:
                done += 1

    tasks = [asyncio.create_task(client(i)) for i in range(clients)]
    await asyncio.sleep(1.0)  # warm-up: pools filled, statements prepared
    measuring = True
    started = time.perf_counter()
    await asyncio.gather(*tasks)
    return done, time.perf_counter() - started


async def _check(account_id: uuid.UUID) -> None:
    reserved = sum(await StockLevel.filter(account_id=account_id).values_list("reserved_milli", flat=True))
    held = sum(await Reservation.filter(account_id=account_id).values_list("quantity_milli", flat=True))
    assert reserved == held, (reserved, held)


async def main(clients: int, variants: int, seconds: float, rounds: int) -> None:
    name = f"bo_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await _admin(f'CREATE DATABASE "{name}"')
    broadcast = None
    try:
        await init_database(_url(name) + f"?minsize={clients}&maxsize={clients}")
        await Tortoise.generate_schemas()
        try:
            from services import broadcast  # the after-commit publish is part of the service path

            await broadcast.start("memory://")
        except ImportError:
            broadcast = None
        service_account, service_warehouse, service_variants = await _stocked_account("service", variants)
        base_account, base_warehouse, base_variants = await _stocked_account("baseline", variants)

        async def by_service(rng: random.Random) -> None:
            request = ReservationRequest(uuid.uuid4(), service_warehouse, rng.choice(service_variants), 1000)
            await inventory.reserve_stock(service_account, [request], allow_backorders=False)

        pool = await asyncpg.create_pool(
            _url(name).replace("postgres://", "postgresql://", 1), min_size=clients, max_size=clients
        )

        async def by_sql(rng: random.Random) -> None:
            variant = rng.choice(base_variants)
            async with pool.acquire() as conn, conn.transaction():
                changed = await conn.execute(
                    "UPDATE stock_level SET reserved_milli = reserved_milli + $1, updated_at = now() "
                    "WHERE account_id = $2 AND warehouse_id = $3 AND variant_id = $4 "
                    "AND on_hand_milli - reserved_milli >= $1",
                    1000,
                    base_account,
                    base_warehouse,
                    variant,
                )
                assert changed == "UPDATE 1", changed
                await conn.execute(
                    "INSERT INTO stock_reservation (id, created_at, updated_at, account_id, order_line_id, "
                    "warehouse_id, variant_id, quantity_milli, status) "
                    "VALUES ($1, now(), now(), $2, $3, $4, $5, $6, 'OPEN')",
                    uuid.uuid4(),
                    base_account,
                    uuid.uuid4(),
                    base_warehouse,
                    variant,
                    1000,
                )

        print(
            f"PostgreSQL, {clients} clients, {variants} hot variants, {rounds} rounds of {seconds:.0f} s "
            f"each way, Python {sys.version.split()[0]}"
        )
        totals = {"service": [0, 0.0], "sql": [0, 0.0]}
        for number in range(1, rounds + 1):
            for name, one in (("sql", by_sql), ("service", by_service)):
                done, elapsed = await _drive(clients, seconds, one)
                totals[name][0] += done
                totals[name][1] += elapsed
            print(
                f"  round {number}: service {totals['service'][0] / totals['service'][1]:6.0f}/s cumulative, "
                f"baseline {totals['sql'][0] / totals['sql'][1]:6.0f}/s cumulative"
            )
        await pool.close()
        await _check(service_account)
        await _check(base_account)
        service_rate = totals["service"][0] / totals["service"][1]
        sql_rate = totals["sql"][0] / totals["sql"][1]
        service_done, sql_done = totals["service"][0], totals["sql"][0]
        print(
            f"services.inventory.reserve_stock : {service_rate:8.0f} reservations/s ({service_done} in all)"
        )
        print(f"plain asyncpg (UPDATE + INSERT)  : {sql_rate:8.0f} reservations/s ({sql_done} in all)")
        print(f"ratio service / baseline         : {service_rate / sql_rate:8.2f}   (target >= 0.5)")
    finally:
        if broadcast is not None:
            await broadcast.stop()
        await Tortoise.close_connections()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--variants", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    runner(main(args.clients, args.variants, args.seconds, args.rounds))
