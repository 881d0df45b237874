"""The job queue the services enqueue through: arq on Redis, or this process without Redis.

Jobs are async functions of the services, registered by name with `@job(...)`. The arq worker
(workers/) runs them from Redis; without REDIS_URL they run here as asyncio tasks. Either way
they run through `run_job`, which turns a `Transient` error into a retry with back-off (arq's
`Retry`: arq retries nothing else) until the job's tries are used up, and then records the final
failure on the object the job works for (the job's `on_failure`).

Exactly once comes from rows, not from the queue. Job ids are derived from what a job does, so a
job enqueued twice runs once while the first is queued or running; a job that runs twice anyway (a
worker died inside it) finds the delivery records of what it already sent. Work that must survive
a restart is a row before it is enqueued (`enqueue_after_commit`), and the sweepers
(`register_sweeper`, run at start-up and by cron) enqueue again whatever such rows still wait for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from arq.worker import Retry

from services.db import on_commit

log = logging.getLogger("backoffice.queue")

__all__ = [
    "Retry",
    "Transient",
    "QueueConfig",
    "job",
    "run_job",
    "enqueue",
    "enqueue_after_commit",
    "register_sweeper",
    "sweep",
    "use_queue",
    "use_in_process",
    "get_queue",
    "InProcessQueue",
    "ArqQueue",
]


class Transient(Exception):
    """A failure worth trying again later: a timeout, a 5xx, a dropped connection."""


@dataclass(frozen=True)
class QueueConfig:
    """How jobs are retried. `retry_base_seconds` doubles with each try, up to `retry_cap_seconds`."""

    max_tries: int = 5
    retry_base_seconds: float = 2.0
    retry_cap_seconds: float = 300.0


_config = QueueConfig()


def configure(config: QueueConfig) -> None:
    global _config
    _config = config


def config() -> QueueConfig:
    return _config


def backoff(job_try: int) -> float:
    """Seconds to wait before try `job_try + 1`: exponential, capped."""
    return min(_config.retry_cap_seconds, _config.retry_base_seconds * 2 ** max(0, job_try - 1))


# --- the registry of jobs --------------------------------------------------------------------------

JobFunction = Callable[..., Awaitable[Any]]
FailureHook = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    function: JobFunction
    on_failure: FailureHook | None
    max_tries: int | None
    timeout_seconds: float


_JOBS: dict[str, JobSpec] = {}


def job(
    name: str,
    *,
    on_failure: FailureHook | None = None,
    max_tries: int | None = None,
    timeout_seconds: float = 120.0,
) -> Callable[[JobFunction], JobFunction]:
    """Registers an async function as the job `name`.

    `on_failure(*args, error=..., **kwargs)` records a final failure on the job's object: after the
    last try of a `Transient` error, or at once for any other exception.
    """

    def register(function: JobFunction) -> JobFunction:
        if name in _JOBS and _JOBS[name].function is not function:
            raise RuntimeError(f"two jobs are named {name!r}")
        _JOBS[name] = JobSpec(name, function, on_failure, max_tries, timeout_seconds)
        return function

    return register


def registered_jobs() -> dict[str, JobSpec]:
    return dict(_JOBS)


async def run_job(name: str, job_try: int, *args: Any, **kwargs: Any) -> Any:
    """Runs one try of a job. Raises `Retry` for a transient error with tries left; otherwise a
    failure is final: it is recorded through the job's `on_failure` and not raised."""
    spec = _JOBS[name]
    max_tries = spec.max_tries or _config.max_tries
    try:
        return await spec.function(*args, **kwargs)
    except Transient as exc:
        if job_try < max_tries:
            delay = backoff(job_try)
            log.info("job %s try %d: %s; again in %.2fs", name, job_try, exc, delay)
            raise Retry(defer=delay) from exc
        error = f"gave up after {job_try} tries: {exc}"
    except (Retry, asyncio.CancelledError):
        raise
    except Exception as exc:  # a bug or a refusal: retrying would not help
        log.exception("job %s failed", name)
        error = f"{type(exc).__name__}: {exc}"
    log.warning("job %s failed for good: %s", name, error)
    if spec.on_failure is not None:
        await spec.on_failure(*args, error=error[:2000], **kwargs)
    return None


# --- sweepers: the outbox ------------------------------------------------------------------------

Sweeper = Callable[[], Awaitable[int]]
_SWEEPERS: dict[str, Sweeper] = {}


def register_sweeper(name: str, sweeper: Sweeper) -> None:
    """A function that enqueues again the jobs its rows still wait for; returns how many."""
    _SWEEPERS[name] = sweeper


async def sweep() -> int:
    """Runs every sweeper; one that fails does not stop the others."""
    total = 0
    for name, sweeper in list(_SWEEPERS.items()):
        try:
            total += await sweeper()
        except Exception:
            log.exception("sweeper %s failed", name)
    return total


# --- the queues ---------------------------------------------------------------------------------


class Queue(Protocol):
    async def enqueue(
        self,
        name: str,
        *args: Any,
        job_id: str,
        defer_until: datetime | None = None,
        defer_by: float | None = None,
        **kwargs: Any,
    ) -> bool:
        """Enqueues a job unless one with this id is queued or running; True if it was enqueued."""
        ...

    async def close(self) -> None: ...


class InProcessQueue:
    """Runs jobs as tasks of this process's event loop, with the same retries as the arq worker.

    Deduplicates by job id while a job is waiting or running. Nothing survives the process: the
    sweepers find the rows again at the next start.
    """

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.closed = False

    async def enqueue(
        self,
        name: str,
        *args: Any,
        job_id: str,
        defer_until: datetime | None = None,
        defer_by: float | None = None,
        **kwargs: Any,
    ) -> bool:
        if name not in _JOBS:
            raise KeyError(f"no job is named {name!r}")
        if self.closed:
            return False
        running = self._tasks.get(job_id)
        if running is not None and not running.done():
            return False
        delay = defer_by or 0.0
        if defer_until is not None:
            delay = max(0.0, (defer_until - datetime.now(UTC)).total_seconds())
        task = asyncio.get_running_loop().create_task(self._run(job_id, name, delay, args, kwargs))
        self._tasks[job_id] = task
        task.add_done_callback(lambda t, key=job_id: self._forget(key, t))
        return True

    def _forget(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job_id) is task:
            del self._tasks[job_id]

    async def _run(self, job_id: str, name: str, delay: float, args: tuple, kwargs: dict) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        spec = _JOBS[name]
        job_try = 1
        while True:
            try:
                await asyncio.wait_for(run_job(name, job_try, *args, **kwargs), spec.timeout_seconds)
                return
            except Retry as retry:
                job_try += 1
                await asyncio.sleep((retry.defer_score or 0) / 1000)
            except TimeoutError:
                job_try += 1
                log.warning("job %s (%s) timed out; try %d", name, job_id, job_try)
                if job_try > (spec.max_tries or _config.max_tries):
                    if spec.on_failure is not None:
                        await spec.on_failure(*args, error="timed out", **kwargs)
                    return
            except Exception:  # run_job records failures; this is a failure to record one
                log.exception("job %s (%s) crashed", name, job_id)
                return

    def pending(self) -> int:
        return sum(not t.done() for t in self._tasks.values())

    async def drain(self) -> None:
        """Waits until no job is waiting or running (jobs may enqueue more). For tests and shutdown;
        wrap it in `asyncio.timeout` to bound the wait."""
        while True:
            tasks = [t for t in self._tasks.values() if not t.done()]
            if not tasks:
                return
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        self.closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class ArqQueue:
    """Enqueues into arq on Redis; the worker (`backoffice worker`) runs the jobs."""

    def __init__(self, redis_url: str, queue_name: str = "arq:queue") -> None:
        self.redis_url = redis_url
        self.queue_name = queue_name
        self._pool: Any = None
        self._lock = asyncio.Lock()

    async def pool(self) -> Any:
        from arq.connections import RedisSettings, create_pool

        async with self._lock:
            if self._pool is None:
                settings = RedisSettings.from_dsn(self.redis_url)
                settings.conn_retries = 1
                self._pool = await create_pool(settings, default_queue_name=self.queue_name)
            return self._pool

    async def enqueue(
        self,
        name: str,
        *args: Any,
        job_id: str,
        defer_until: datetime | None = None,
        defer_by: float | None = None,
        **kwargs: Any,
    ) -> bool:
        pool = await self.pool()
        found = await pool.enqueue_job(
            name,
            *args,
            _job_id=job_id,
            _defer_until=defer_until,
            _defer_by=timedelta(seconds=defer_by) if defer_by else None,
            **kwargs,
        )
        return found is not None

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose(close_connection_pool=True)
            self._pool = None


_queue: Queue | None = None


def use_queue(queue: Queue | None) -> None:
    """Sets the queue this process enqueues through (the app's lifespan, the worker, tests)."""
    global _queue
    _queue = queue


def use_in_process() -> InProcessQueue:
    queue = InProcessQueue()
    use_queue(queue)
    return queue


def get_queue() -> Queue:
    """The queue in use; without one set, an in-process queue (the embedded default)."""
    global _queue
    if _queue is None:
        _queue = InProcessQueue()
    return _queue


async def enqueue(
    name: str,
    *args: Any,
    job_id: str,
    defer_until: datetime | None = None,
    defer_by: float | None = None,
    **kwargs: Any,
) -> bool:
    return await get_queue().enqueue(
        name, *args, job_id=job_id, defer_until=defer_until, defer_by=defer_by, **kwargs
    )


def enqueue_after_commit(
    name: str,
    *args: Any,
    job_id: str,
    defer_until: datetime | None = None,
    defer_by: float | None = None,
    **kwargs: Any,
) -> None:
    """Enqueues once the current transaction commits: the job's row exists before the job does.

    If enqueuing fails then (Redis is away), the row is still there and a sweeper enqueues it later.
    """

    async def send() -> None:
        await enqueue(name, *args, job_id=job_id, defer_until=defer_until, defer_by=defer_by, **kwargs)

    on_commit(send)
