"""Turns service errors into coded GraphQL errors, and masks everything unexpected.

A client sees UNAUTHENTICATED, FORBIDDEN, NOT_FOUND or BAD_USER_INPUT with a clear message;
any other exception is logged with the request id, and the client gets only that id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from tortoise.exceptions import ValidationError

from services.errors import Forbidden, InvalidInput, NotFound, ServiceError, Unauthenticated

log = logging.getLogger("backoffice.errors")


def _coded(error: GraphQLError, code: str, message: str, **extra: object) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={**(error.extensions or {}), "code": code, **extra},
    )


def is_unexpected(error: GraphQLError) -> bool:
    """A bug rather than the client's mistake: an exception the services did not mean to raise."""
    original = error.original_error
    return original is not None and not isinstance(original, ServiceError | GraphQLError | ValidationError)


def present_error(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    if original is None:
        return error  # syntax, validation and limit errors are already meant for the client
    if isinstance(original, Unauthenticated | Forbidden):
        return _coded(error, original.code, str(original))
    if isinstance(original, NotFound):
        return _coded(error, "NOT_FOUND", str(original))
    if isinstance(original, InvalidInput):
        problems = [
            {"field": list(p.field or []), "code": p.code, "message": p.message} for p in original.problems
        ]
        return _coded(error, "BAD_USER_INPUT", str(original), problems=problems)
    if isinstance(original, GraphQLError):
        return error
    if isinstance(original, ValidationError):
        # A value that does not fit its column (a 300-character sku, say): the client's mistake.
        return _coded(error, "BAD_USER_INPUT", f"a value does not fit: {original}")
    log.error("unexpected error in request %s", request_id, exc_info=original)
    return _coded(
        error,
        "INTERNAL_ERROR",
        f"internal error; quote request id {request_id} to support",
        requestId=request_id,
    )


class ErrorPresenter(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        context = self.execution_context.context
        request_id = getattr(context, "request_id", "unknown")
        result.errors = [present_error(e, request_id) for e in result.errors]
