"""Without Redis: the server process runs the jobs and the periodic jobs itself.

`background()` is entered by the app's lifespan when REDIS_URL is unset: the services enqueue
into an in-process queue (the same job functions and retries as the arq worker), the periodic
jobs of `workers.cron.CRON` run on their schedule, and the outbox sweep at start finds the work
that a previous process left unfinished. With REDIS_URL set it only points the services at arq.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator

import workers.jobs  # noqa: F401  (registers the jobs)
from services import queue
from workers.config import WorkerConfig
from workers.cron import CRON, Periodic

log = logging.getLogger("backoffice.worker")


async def run_periodic(entries: list[Periodic]) -> None:
    """Runs each entry every `every_seconds` (and once at start if it asks), one failure not
    stopping the rest."""
    now = time.monotonic()
    due = {e.name: (now if e.at_startup else now + e.every_seconds) for e in entries}
    while True:
        now = time.monotonic()
        for entry in entries:
            if due[entry.name] <= now:
                due[entry.name] = now + entry.every_seconds
                try:
                    await entry.run()
                except Exception:
                    log.exception("periodic job %s failed", entry.name)
        await asyncio.sleep(max(0.05, min(due.values()) - time.monotonic()))


@contextlib.asynccontextmanager
async def background(*, redis_url: str | None = None) -> AsyncIterator[queue.Queue]:
    """The jobs of the server process: `redis_url` (the app's REDIS_URL) or in-process."""
    config = dataclasses.replace(WorkerConfig.from_env(), redis_url=redis_url)
    config.apply()
    if config.redis_url:
        arq_queue = queue.ArqQueue(config.redis_url, config.queue_name)
        queue.use_queue(arq_queue)
        try:
            yield arq_queue
        finally:
            await arq_queue.close()
        return
    in_process = queue.use_in_process()
    periodic = asyncio.create_task(run_periodic(CRON), name="periodic-jobs")
    try:
        yield in_process
    finally:
        periodic.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await periodic
        await in_process.close()
