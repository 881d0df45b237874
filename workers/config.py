"""What the workers read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SystemExit(f"setting {name} must be a number, got {raw!r}") from exc


@dataclass(frozen=True)
class WorkerConfig:
    """REDIS_URL: the queue; WORKER_QUEUE: its name (several deployments or test runs can share one
    Redis); JOB_MAX_TRIES / JOB_RETRY_BASE_SECONDS: retries with back-off; WORKER_MAX_JOBS: jobs at
    once; WORKER_HEARTBEAT_SECONDS: how soon another worker takes over the jobs of a dead one;
    FISCAL_POLL_SECONDS: the first wait before a fiscal report is asked for."""

    redis_url: str | None = None
    # The same default as api/settings.py: the embedded SQLite file.
    database_url: str = "sqlite://data/backoffice.sqlite3"
    queue_name: str = "arq:queue"
    max_tries: int = 5
    retry_base_seconds: float = 2.0
    max_jobs: int = 10
    heartbeat_seconds: float = 2.0
    fiscal_poll_seconds: float = 2.0

    @classmethod
    def from_env(cls) -> WorkerConfig:
        return cls(
            redis_url=os.environ.get("REDIS_URL") or None,
            database_url=os.environ.get("DATABASE_URL") or cls.database_url,
            queue_name=os.environ.get("WORKER_QUEUE") or "arq:queue",
            max_tries=int(_float("JOB_MAX_TRIES", 5)),
            retry_base_seconds=_float("JOB_RETRY_BASE_SECONDS", 2.0),
            max_jobs=int(_float("WORKER_MAX_JOBS", 10)),
            heartbeat_seconds=_float("WORKER_HEARTBEAT_SECONDS", 2.0),
            fiscal_poll_seconds=_float("FISCAL_POLL_SECONDS", 2.0),
        )

    def apply(self) -> None:
        """Hands the retry and polling settings to the services."""
        from services import fiscal, queue

        queue.configure(
            queue.QueueConfig(max_tries=self.max_tries, retry_base_seconds=self.retry_base_seconds)
        )
        fiscal.POLL_DELAY_SECONDS = self.fiscal_poll_seconds
