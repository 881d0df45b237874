"""The GraphQL endpoint: strawberry's ASGI app with our context and authentication.

HTTP requests authenticate with `Authorization: Bearer <token>`. WebSocket connections
(`graphql-transport-ws` and the legacy `graphql-ws`) authenticate once, in `connection_init`,
with the payload `{"authorization": "Bearer <token>"}`; a connection without a valid token is
refused there, before any operation runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError

from api.settings import Settings
from resolvers.context import Context, bearer_from_header
from resolvers.live import LiveContext
from services.errors import Unauthenticated

AUTH_HINT = 'send connection_init with the payload {"authorization": "Bearer <token>"}'


class GraphQLApp(GraphQL):
    def __init__(self, schema: Any, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            connection_init_wait_timeout=timedelta(seconds=10),
        )
        self.settings = settings

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:
        if isinstance(request, WebSocket):
            # Once per connection: authenticated by on_ws_connect, copied for each operation.
            return LiveContext(settings=self.settings, bearer=None, request=request, response=response)
        bearer = bearer_from_header(request.headers.get("authorization"))
        return Context(settings=self.settings, bearer=bearer, request=request, response=response)

    async def on_ws_connect(self, context: Any) -> Any:
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        raw = params.get("authorization", params.get("Authorization"))
        bearer = bearer_from_header(raw) if isinstance(raw, str) else None
        if bearer is None:
            raise ConnectionRejectionError({"message": f"not authenticated: {AUTH_HINT}"})
        try:
            await context.authenticate(bearer)
        except Unauthenticated as exc:
            raise ConnectionRejectionError({"message": str(exc)}) from exc
        return await super().on_ws_connect(context)
