"""Settings read from the environment, with defaults that are safe on a laptop."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_DATABASE_URL = "sqlite://data/backoffice.sqlite3"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"setting {name} must be an integer, got {raw!r}") from exc


@dataclass(frozen=True)
class QueryLimits:
    """Limits checked before a GraphQL document runs; the README lists them."""

    max_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 4000
    max_cost: int = 5000
    max_body_bytes: int = 1_000_000


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    session_hours: int = 24 * 14
    limits: QueryLimits = field(default_factory=QueryLimits)

    @classmethod
    def from_env(cls) -> Settings:
        limits = QueryLimits(
            max_depth=_int("MAX_QUERY_DEPTH", QueryLimits.max_depth),
            max_aliases=_int("MAX_QUERY_ALIASES", QueryLimits.max_aliases),
            max_tokens=_int("MAX_QUERY_TOKENS", QueryLimits.max_tokens),
            max_cost=_int("MAX_QUERY_COST", QueryLimits.max_cost),
            max_body_bytes=_int("MAX_BODY_BYTES", QueryLimits.max_body_bytes),
        )
        return cls(
            database_url=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            redis_url=os.environ.get("REDIS_URL") or None,
            host=os.environ.get("HOST") or "127.0.0.1",
            port=_int("PORT", 8000),
            log_level=(os.environ.get("LOG_LEVEL") or "info").lower(),
            session_hours=_int("SESSION_HOURS", 24 * 14),
            limits=limits,
        )
