"""Campaign throughput: messages per second from one `backoffice worker` process to a fake SMTP
server on loopback, for 10,000 recipients (numbers, not pass/fail).

    .venv/bin/python bench/campaign_throughput.py [--recipients 10000] [--batch 200] [--sqlite]
        [--in-process]

Uses a throwaway PostgreSQL database on 127.0.0.1:5432 (or a SQLite file with --sqlite) and the
local Redis (REDIS_URL, default redis://127.0.0.1:6379/0) on a queue of its own. With
--in-process the jobs run in this process instead (no Redis, the embedded default).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tortoise import Tortoise  # noqa: E402

from models.accounts import Account  # noqa: E402
from models.campaigns import MessagingSettings  # noqa: E402
from models.customers import Customer  # noqa: E402
from services import campaigns, queue  # noqa: E402
from services.access import Actor  # noqa: E402
from services.db import init_database  # noqa: E402
from tests.fakes.smtp import FakeSmtp  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--in-process", action="store_true")
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"

    if args.sqlite:
        url = f"sqlite://{tempfile.mkdtemp(prefix='bo_bench_')}/bench.sqlite3"
        name = None
    else:
        name = f"bo_bench_{uuid.uuid4().hex[:8]}"
        await _pg(f'CREATE DATABASE "{name}"')
        url = f"postgres://postgres@127.0.0.1:5432/{name}?minsize=1&maxsize=20"
    worker = None
    try:
        await init_database(url)
        await Tortoise.generate_schemas()
        async with FakeSmtp() as smtp:
            account = await Account.create(id=uuid.uuid4(), name="Bench shop")
            actor = Actor.system(account.id)
            await MessagingSettings.create(
                id=uuid.uuid4(),
                account_id=account.id,
                smtp_host="127.0.0.1",
                smtp_port=smtp.port,
                smtp_security="NONE",
                from_email="shop@example.com",
                public_url="http://shop.test",
            )
            rows = [
                Customer(
                    id=uuid.uuid4(),
                    account_id=account.id,
                    name=f"Customer {n}",
                    emails=[f"c{n}@example.com"],
                    email_consent=True,
                    tags=["all"],
                    tags_key=",all,",
                )
                for n in range(args.recipients)
            ]
            for start in range(0, len(rows), 1000):
                await Customer.bulk_create(rows[start : start + 1000])
            campaign = await campaigns.create_campaign(
                actor,
                campaigns.CampaignInput(
                    name="Bench",
                    channel="EMAIL",
                    subject="Hello {{first_name}}",
                    body="Dear {{name}}, hello.",
                    audience=campaigns.AudienceInput(tags=["all"]),
                    batch_size=args.batch,
                ),
            )
            if args.in_process:
                running = queue.use_in_process()
                mode = "in-process (no Redis)"
            else:
                queue_name = f"bench:{uuid.uuid4().hex[:8]}"
                queue.use_queue(queue.ArqQueue(redis_url, queue_name))
                env = {
                    **os.environ,
                    "DATABASE_URL": url,
                    "REDIS_URL": redis_url,
                    "WORKER_QUEUE": queue_name,
                    "LOG_LEVEL": "warning",
                }
                worker = subprocess.Popen(  # noqa: ASYNC220 - started once, before the clock
                    [sys.executable, "-m", "api.cli", "worker"], cwd=ROOT, env=env
                )
                await asyncio.sleep(2.0)  # let the worker start before the clock does
                mode = "one `backoffice worker` process on Redis"
            started = time.perf_counter()
            await campaigns.send_campaign(actor, campaign.id)
            materialised = time.perf_counter() - started
            while len(smtp.transmissions) < args.recipients:  # noqa: ASYNC110 - the server is polled
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            if args.in_process:
                await running.drain()
            backend = "SQLite" if args.sqlite else "PostgreSQL"
            print(f"{args.recipients} recipients, batches of {args.batch}, {backend}, {mode}")
            print(f"  starting the campaign (recipients written, batches enqueued): {materialised:.2f}s")
            rate = args.recipients / elapsed
            print(f"  all messages at the SMTP server after {elapsed:.2f}s: {rate:.0f} messages/s")
            print(f"  sending only: {args.recipients / (elapsed - materialised):.0f} messages/s")
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(20)
        await Tortoise.close_connections()
        if name:
            await _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
