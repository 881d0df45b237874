"""The `backoffice` command: serve, migrate."""

from __future__ import annotations

import argparse
import asyncio
import logging

from api.settings import Settings


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backoffice", description="Back office for online retailers")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the GraphQL API")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1, help="server processes (needs PostgreSQL and Redis)")
    serve.set_defaults(run=_serve)
    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(run=_migrate)
    make = commands.add_parser("makemigrations", help="write migrations for model changes (developers)")
    make.add_argument("--name", default=None)
    make.set_defaults(run=_make_migrations)
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
