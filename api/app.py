"""The ASGI application: /graphql (HTTP and WebSocket) and /health."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from api.graphql import GraphQLApp
from api.settings import Settings
from schema.schema import build_schema
from services.db import close_database, init_database

log = logging.getLogger("backoffice")


async def health(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Starlette:
    """The app. `manage_database=False` when the caller (a test) has already opened the database."""
    settings = settings or Settings.from_env()
    graphql = GraphQLApp(build_schema(settings.limits), settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if manage_database:
            await init_database(settings.database_url)
        try:
            yield
        finally:
            if manage_database:
                await close_database()

    routes = [
        Route("/health", health),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, max_body_size=settings.limits.max_body_bytes)
    app.state.settings = settings
    return app
