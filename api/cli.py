"""The `backoffice` command: serve, migrate."""

from __future__ import annotations

import argparse
import asyncio
import logging

from api.settings import Settings


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    if args.workers < 1:
        raise SystemExit("--workers is at least 1")
    if args.workers > 1:
        # Each process has its own memory: live events must cross processes through Redis, and
        # SQLite locks the database file against writers in other processes.
        if not settings.redis_url:
            raise SystemExit("--workers > 1 needs REDIS_URL: live feeds cross processes through Redis")
        if settings.database_url.startswith("sqlite"):
            raise SystemExit("--workers > 1 needs PostgreSQL (DATABASE_URL=postgres://...), not SQLite")
    uvicorn.run(
        "api.main:app",
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        log_level=settings.log_level,
        factory=False,
    )


def _migrate(_: argparse.Namespace, settings: Settings) -> None:
    from services.migrations import apply_migrations

    asyncio.run(apply_migrations(settings.database_url))


def _make_migrations(args: argparse.Namespace, settings: Settings) -> None:
    from services.migrations import make_migrations

    paths = asyncio.run(make_migrations(settings.database_url, args.name))
    print("\n".join(paths) if paths else "no changes: the migrations match the models")


def _import_online_retail(args: argparse.Namespace, settings: Settings) -> None:
    from services.importing.command import run_import

    code = asyncio.run(
        run_import(
            settings.database_url,
            args.path,
            email=args.email,
            password=args.password,
            rejects=args.rejects,
            quiet=args.quiet,
        )
    )
    raise SystemExit(code)


def _demo(_: argparse.Namespace, settings: Settings) -> None:
    from services.importing.command import run_demo

    raise SystemExit(asyncio.run(run_demo(settings.database_url)))


def _worker(_: argparse.Namespace, settings: Settings) -> None:
    import dataclasses

    from workers.config import WorkerConfig
    from workers.supervisor import run

    if not settings.redis_url:
        raise SystemExit("backoffice worker needs REDIS_URL; without Redis `backoffice serve` runs the jobs")
    config = WorkerConfig.from_env()
    run(dataclasses.replace(config, redis_url=settings.redis_url, database_url=settings.database_url))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backoffice", description="Back office for online retailers")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the GraphQL API")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1, help="server processes (needs PostgreSQL and Redis)")
    serve.set_defaults(run=_serve)
    worker = commands.add_parser("worker", help="run the background jobs from Redis (REDIS_URL)")
    worker.set_defaults(run=_worker)
    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(run=_migrate)
    make = commands.add_parser("makemigrations", help="write migrations for model changes (developers)")
    make.add_argument("--name", default=None)
    make.set_defaults(run=_make_migrations)
    importing = commands.add_parser("import", help="import data from a file").add_subparsers(
        dest="source", required=True
    )
    retail = importing.add_parser("online-retail", help="the UCI Online Retail data set (gzip CSV)")
    retail.add_argument("path", help="online_retail.csv.gz (or a slice of it, gzip or plain CSV)")
    retail.add_argument("--email", required=True, help="the owner of the account (created if new, in GBP)")
    retail.add_argument("--password", required=True)
    retail.add_argument("--rejects", default=None, help="where to write the rejected lines (CSV)")
    retail.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    retail.set_defaults(run=_import_online_retail)
    demo = commands.add_parser("demo", help="load the demo data on first start and print the demo login")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> None:
    settings = Settings.from_env()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    args = build_parser().parse_args(argv)
    args.run(args, settings)


if __name__ == "__main__":
    main()
