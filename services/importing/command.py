"""What `backoffice import online-retail` and `backoffice demo` do: open the database, import,
print the summary, write the reject file. Exit status 0 on success, 2 when the file or the
account refuses the import (with a clear message and nothing written)."""

from __future__ import annotations

import sys
from pathlib import Path

from services.db import close_database, init_database
from services.importing.load import ImportRefused, import_online_retail, read_plan
from services.importing.reader import ImportFileError
from services.importing.report import ProgressBar, print_summary, write_rejects

DEMO_FILE = Path(__file__).resolve().parents[2] / "demo" / "online_retail_sample.csv.gz"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"


async def run_import(
    database_url: str, path: str, *, email: str, password: str, rejects: str | None, quiet: bool = False
) -> int:
    try:
        plan = read_plan(path)
    except ImportFileError as exc:
        print(f"{path}: {exc}; nothing was imported", file=sys.stderr)
        return 2
    await init_database(database_url)
    try:
        result = await import_online_retail(
            path,
            email=email,
            password=password,
            plan=plan,
            progress=None if quiet else ProgressBar("importing"),
        )
    except ImportRefused as exc:
        print(f"import refused: {exc}; nothing was imported", file=sys.stderr)
        return 2
    finally:
        await close_database()
    if not quiet:
        print_summary(plan, result)
    reject_path = rejects or str(Path(path).name).removesuffix(".gz").removesuffix(".csv") + ".rejects.csv"
    count = write_rejects(plan, reject_path)
    if not quiet:
        print(f"rejected lines: {count:,}, each with its reason, in {reject_path}")
    return 0


async def run_demo(database_url: str) -> int:
    """Loads the demo slice into the demo account the first time; prints the demo login."""
    from models.accounts import User

    await init_database(database_url)
    try:
        fresh = await User.filter(email=DEMO_EMAIL).first() is None
        if fresh:
            print(f"loading the demo data ({DEMO_FILE.name}) into the demo account...")
            result = await import_online_retail(DEMO_FILE, email=DEMO_EMAIL, password=DEMO_PASSWORD)
            print(
                f"demo data: {result.written['orders written']:,} orders, "
                f"{result.written['customers created']:,} customers, "
                f"{result.written['products created']:,} products ({result.seconds:.1f} s)"
            )
    finally:
        await close_database()
    print(f"demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}  (GraphiQL: /graphql, manager page: /manager)")
    return 0
