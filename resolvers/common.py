"""Helpers every resolver module shares."""

from __future__ import annotations

from typing import Any

from strawberry.types import Info

from resolvers.context import Context
from services.access import Actor


def context(info: Info) -> Context:
    return info.context


async def actor(info: Info) -> Actor:
    return await info.context.actor()


def plain(value: Any) -> Any:
    """An enum member's value, or the value itself: services take plain strings."""
    return getattr(value, "value", value)
