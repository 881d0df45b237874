"""The ASGI application: /graphql (HTTP and WebSocket) and /health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from api.graphql import GraphQLApp
from api.settings import Settings
from resolvers.campaigns import unsubscribe_page
from resolvers.dropship import supplier_callback
from schema.schema import build_schema
from services import broadcast
from services.db import close_database, init_database
from workers.inprocess import background

log = logging.getLogger("backoffice")
MANAGER_PAGE = Path(__file__).resolve().parents[1] / "client-examples" / "web"


async def health(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def live_health(_: Request) -> JSONResponse:
    """The live feeds of this process: connected or not, and how many subscriptions it holds."""
    stats = broadcast.stats()
    stats["processTasks"] = len(asyncio.all_tasks())
    return JSONResponse(stats, status_code=200 if stats.get("connected") else 503)


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Starlette:
    """The app. `manage_database=False` when the caller (a test) has already opened the database."""
    settings = settings or Settings.from_env()
    graphql = GraphQLApp(build_schema(settings.limits), settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if manage_database:
            await init_database(settings.database_url)
        # Live feeds: memory:// in one process, Redis across processes (REDIS_URL).
        await broadcast.start(settings.redis_url)
        try:
            # Jobs and periodic jobs (the confirmation-deadline watch among them): in this process
            # without REDIS_URL, else enqueued to arq for `backoffice worker` (workers/).
            jobs = background(redis_url=settings.redis_url) if manage_database else contextlib.nullcontext()
            async with jobs:
                yield
        finally:
            await broadcast.stop()
            if manage_database:
                await close_database()

    routes = [
        Route("/health", health),
        Route("/health/live", live_health),
        Route("/unsubscribe/{token}", unsubscribe_page, methods=["GET", "POST"]),
        Route("/dropship/callback/{endpoint_id}", supplier_callback, methods=["POST"]),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        # The manager page (client-examples/web): static HTML and JavaScript, no build step.
        Mount("/manager", StaticFiles(directory=MANAGER_PAGE, html=True), name="manager"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, max_body_size=settings.limits.max_body_bytes)
    app.state.settings = settings
    return app
