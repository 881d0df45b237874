"""`backoffice worker`: runs the arq worker, and runs it again when Redis goes away and comes back.

arq's worker ends when its Redis connection is lost. The supervisor waits for Redis to answer
again (with back-off), then starts a new worker in the same process; the database stays open.
SIGTERM or SIGINT stops it: running jobs are cancelled and arq runs them again later (they are
idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from services.db import close_database, init_database
from workers.config import WorkerConfig
from workers.settings import worker_settings

log = logging.getLogger("backoffice.worker")

RECONNECT_MIN_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 10.0


async def redis_answers(redis_url: str) -> bool:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def supervise(config: WorkerConfig, stop: asyncio.Event | None = None) -> int:
    """Runs workers until `stop` is set; returns how many were started."""
    from arq.worker import Worker

    if not config.redis_url:
        raise SystemExit("backoffice worker needs REDIS_URL; without Redis, `backoffice serve` runs the jobs")
    stop = stop or asyncio.Event()
    config.apply()
    await init_database(config.database_url)
    started = 0
    delay = RECONNECT_MIN_SECONDS
    try:
        while not stop.is_set():
            if not await redis_answers(config.redis_url):
                log.warning("Redis does not answer at %s; trying again in %.1fs", config.redis_url, delay)
                await _wait(stop, delay)
                delay = min(RECONNECT_MAX_SECONDS, delay * 2)
                continue
            delay = RECONNECT_MIN_SECONDS
            worker = Worker(**worker_settings(config), handle_signals=False)
            started += 1
            log.info("worker %d started on queue %s", started, config.queue_name)
            main = asyncio.create_task(worker.async_run(), name="arq-worker")
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({main, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not main.done():
                main.cancel()
            with contextlib.suppress(BaseException):
                await main
            if main.cancelled() or stop.is_set():
                log.info("worker stopping")
            else:
                log.warning("worker ended (%s); starting again when Redis answers", main.exception())
            heartbeat = worker.ctx.get("heartbeat")
            if heartbeat is not None:  # a stale heartbeat would hide this worker's unfinished jobs
                await heartbeat.stop()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(worker.close(), 10)
    finally:
        await close_database()
    return started


def run(config: WorkerConfig | None = None) -> None:
    config = config or WorkerConfig.from_env()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await supervise(config, stop)

    asyncio.run(main())
