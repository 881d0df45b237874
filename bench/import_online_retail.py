"""Import speed: the Online Retail file into a fresh SQLite file and a fresh PostgreSQL database.

    .venv/bin/python bench/import_online_retail.py [PATH] [--rows N] [--backend sqlite|postgres|both]

PATH defaults to ../shared/data/online_retail.csv.gz (the full 541,909 lines); --rows N takes the
first N lines only. Prints lines/s for reading and planning, and for the whole import per backend.
Each backend runs in its own process (Tortoise cannot switch dialects inside one).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT = ROOT.parent / "shared" / "data" / "online_retail.csv.gz"
PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _head(path: Path, rows: int, folder: str) -> Path:
    out = Path(folder) / f"head_{rows}.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8") as src, gzip.open(out, "wt", encoding="utf-8") as dst:
        for index, line in enumerate(src):
            if index > rows:
                break
            dst.write(line)
    return out


async def _one(backend: str, path: Path) -> None:
    from tortoise import Tortoise

    from services.db import close_database, init_database
    from services.importing.load import import_online_retail, read_plan

    if backend == "postgres":
        import asyncpg

        name = f"bo_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgres://") + f"/{name}"
    else:
        name = ""
        url = f"sqlite://{tempfile.mkdtemp(prefix='bo_bench_')}/bench.sqlite3"
    try:
        started = time.monotonic()
        plan = read_plan(path)
        planned = time.monotonic() - started
        await init_database(url)
        await Tortoise.generate_schemas()
        result = await import_online_retail(
            path, email="bench@example.com", password="bench-password", plan=plan
        )
        total = planned + result.seconds
        again = await import_online_retail(
            path, email="bench@example.com", password="bench-password", plan=plan
        )
        print(
            f"{backend:<9} {plan.rows:>8,} lines  "
            f"read+plan {planned:6.1f} s ({plan.rows / planned:>9,.0f}/s)  "
            f"import {total:6.1f} s ({plan.rows / total:>7,.0f} lines/s)  "
            f"orders {result.written['orders written']:,}  second run {again.seconds:.1f} s",
            flush=True,
        )
    finally:
        await close_database()
        if name:
            admin = await asyncpg.connect(PG_ADMIN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", nargs="?", default=str(DEFAULT))
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(_one(args.child, Path(args.path)))
        return
    with tempfile.TemporaryDirectory() as folder:
        path = _head(Path(args.path), args.rows, folder) if args.rows else Path(args.path)
        backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
        for backend in backends:
            subprocess.run([sys.executable, __file__, str(path), "--child", backend], check=True)


if __name__ == "__main__":
    main()
