"""The GraphQL endpoint: strawberry's ASGI app with our context and authentication."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.settings import Settings
from resolvers.context import Context, bearer_from_header


class GraphQLApp(GraphQL):
    def __init__(self, schema: Any, settings: Settings) -> None:
        super().__init__(schema, graphql_ide="graphiql")
        self.settings = settings

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:
        bearer = bearer_from_header(request.headers.get("authorization"))
        return Context(settings=self.settings, bearer=bearer, request=request, response=response)
