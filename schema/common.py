"""What every domain's schema shares: user errors, Relay connections, and the mutation payload helper."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from services.errors import InvalidInput
from services.pagination import Page

T = TypeVar("T")
P = TypeVar("P")


@strawberry.type
class UserError:
    """Something wrong with the input. A payload that carries any has changed nothing."""

    field: list[str] | None
    code: str
    message: str


def user_errors(exc: InvalidInput) -> list[UserError]:
    return [
        UserError(field=list(p.field) if p.field else None, code=p.code, message=p.message)
        for p in exc.problems
    ]


async def payload(cls: type[P], action: Callable[[], Awaitable[dict[str, Any]]]) -> P:
    """Runs a mutation's action; its rule breaks become the payload's userErrors instead of an error."""
    try:
        values = await action()
    except InvalidInput as exc:
        return cls(user_errors=user_errors(exc))  # type: ignore[call-arg]
    return cls(**values, user_errors=[])  # type: ignore[call-arg]


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    nodes: list[T]
    page_info: PageInfo
    count_total: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items match, over all pages. Costs one more query.")
    async def total_count(self) -> int:
        return await self.count_total()


def connection(page: Page) -> Any:
    """A Relay connection of the page's rows; the schema types resolve fields from the rows themselves."""
    return Connection(
        edges=[Edge(cursor=c, node=n) for c, n in zip(page.cursors, page.items, strict=True)],
        nodes=page.items,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=False,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.end_cursor,
        ),
        count_total=page.count_total,
    )
