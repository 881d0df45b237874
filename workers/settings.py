"""The arq worker's settings, and how a worker notices the jobs of a worker that died.

arq marks a running job "in progress" for its timeout plus 10 seconds; a worker killed mid-job
leaves that mark, and the job waits until it expires. Here each worker keeps a heartbeat key alive
and records which jobs it runs; any worker finding a job whose owner's heartbeat is gone removes
the mark, so the job runs again within seconds (the jobs are idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from services import queue
from workers.config import WorkerConfig
from workers.cron import arq_cron_jobs
from workers.jobs import arq_functions

log = logging.getLogger("backoffice.worker")

IN_PROGRESS_PREFIX = "arq:in-progress:"


class Heartbeat:
    """This worker's heartbeat, the owners of running jobs, and the reaper of dead workers' jobs."""

    def __init__(self, redis: Any, config: WorkerConfig) -> None:
        self.redis = redis
        self.config = config
        self.worker_id = uuid.uuid4().hex
        self.prefix = f"{config.queue_name}:bo"
        self.ttl_ms = int(config.heartbeat_seconds * 3 * 1000)
        self.task: asyncio.Task[None] | None = None
        self.unowned_since: dict[str, float] = {}

    def _alive_key(self, worker_id: str) -> str:
        return f"{self.prefix}:worker:{worker_id}"

    def _owner_key(self, job_id: str) -> str:
        return f"{self.prefix}:owner:{job_id}"

    async def beat(self) -> None:
        await self.redis.psetex(self._alive_key(self.worker_id), self.ttl_ms, b"1")

    async def job_started(self, job_id: str) -> None:
        await self.redis.set(self._owner_key(job_id), self.worker_id.encode(), ex=86400)

    async def job_ended(self, job_id: str) -> None:
        await self.redis.delete(self._owner_key(job_id))

    async def reap(self) -> int:
        """Frees the jobs whose worker is gone; returns how many."""
        return await self._reap_orphans() + await self._reap_unowned()

    async def _reap_unowned(self) -> int:
        """A job marked in progress that no worker has claimed for a few heartbeats: its worker died
        between arq's mark and our owner record (a live worker writes that within milliseconds)."""
        due = await self.redis.zrangebyscore(self.config.queue_name, "-inf", "+inf", start=0, num=2000)
        if not due:
            self.unowned_since.clear()
            return 0
        ids = [d.decode() if isinstance(d, bytes) else d for d in due]
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.exists(IN_PROGRESS_PREFIX + job_id)
                pipe.exists(self._owner_key(job_id))
            found = await pipe.execute()
        now = asyncio.get_running_loop().time()
        grace = self.config.heartbeat_seconds * 3
        freed = 0
        seen = {}
        for index, job_id in enumerate(ids):
            marked, owned = found[2 * index], found[2 * index + 1]
            if not marked or owned:
                continue
            first = self.unowned_since.get(job_id, now)
            seen[job_id] = first
            if now - first >= grace:
                await self.redis.delete(IN_PROGRESS_PREFIX + job_id)
                log.warning("job %s was marked running by no living worker: it runs again", job_id)
                seen.pop(job_id)
                freed += 1
        self.unowned_since = seen
        return freed

    async def _reap_orphans(self) -> int:
        freed = 0
        async for key in self.redis.scan_iter(match=f"{self.prefix}:owner:*", count=500):
            key_text = key.decode() if isinstance(key, bytes) else key
            job_id = key_text.rsplit(":owner:", 1)[1]
            owner = await self.redis.get(key_text)
            if owner is None:
                continue
            owner_text = owner.decode() if isinstance(owner, bytes) else owner
            if await self.redis.exists(self._alive_key(owner_text)):
                continue
            await self.redis.delete(IN_PROGRESS_PREFIX + job_id, key_text)
            log.warning("job %s was left by a worker that stopped: it runs again", job_id)
            freed += 1
        return freed

    async def run(self) -> None:
        while True:
            try:
                await self.beat()
                await self.reap()
            except Exception:  # Redis away: the worker itself notices and stops
                log.debug("heartbeat failed", exc_info=True)
            await asyncio.sleep(self.config.heartbeat_seconds)

    async def start(self) -> None:
        await self.beat()
        await self.reap()
        self.task = asyncio.create_task(self.run(), name="worker-heartbeat")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        with contextlib.suppress(Exception):
            await self.redis.delete(self._alive_key(self.worker_id))


def worker_settings(config: WorkerConfig) -> dict[str, Any]:
    """Keyword arguments of `arq.worker.Worker` for this deployment. The database is opened by the
    caller (the supervisor), once per process."""
    from arq.connections import RedisSettings

    redis_settings = RedisSettings.from_dsn(config.redis_url or "redis://127.0.0.1:6379/0")
    redis_settings.conn_retries = 1

    async def on_startup(ctx: dict) -> None:
        # Jobs that enqueue follow-ups (the next poll) go through Redis too.
        queue.use_queue(queue.ArqQueue(config.redis_url or "", config.queue_name))
        ctx["heartbeat"] = heartbeat = Heartbeat(ctx["redis"], config)
        await heartbeat.start()

    async def on_shutdown(ctx: dict) -> None:
        heartbeat = ctx.get("heartbeat")
        if heartbeat is not None:
            await heartbeat.stop()
        current = queue.get_queue()
        if isinstance(current, queue.ArqQueue):
            with contextlib.suppress(Exception):
                await current.close()

    async def on_job_start(ctx: dict) -> None:
        await ctx["heartbeat"].job_started(ctx["job_id"])

    async def after_job_end(ctx: dict) -> None:
        await ctx["heartbeat"].job_ended(ctx["job_id"])

    return {
        "functions": arq_functions(config.max_tries),
        "cron_jobs": arq_cron_jobs(),
        "redis_settings": redis_settings,
        "queue_name": config.queue_name,
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "on_job_start": on_job_start,
        "after_job_end": after_job_end,
        "max_jobs": config.max_jobs,
        "keep_result": 3600,
        "poll_delay": 0.2,
        "max_tries": config.max_tries + 3,
    }


class WorkerSettings:
    """For `arq workers.settings.WorkerSettings` (`backoffice worker` is the supervised way, which
    also restarts the worker when Redis comes back). Reads the environment when imported."""

    _config = WorkerConfig.from_env()
    _kwargs = worker_settings(_config)
    functions = _kwargs["functions"]
    cron_jobs = _kwargs["cron_jobs"]
    redis_settings = _kwargs["redis_settings"]
    queue_name = _kwargs["queue_name"]
    on_job_start = _kwargs["on_job_start"]
    after_job_end = _kwargs["after_job_end"]
    max_jobs = _kwargs["max_jobs"]
    keep_result = _kwargs["keep_result"]
    poll_delay = _kwargs["poll_delay"]
    max_tries = _kwargs["max_tries"]

    @staticmethod
    async def on_startup(ctx: dict) -> None:
        from services.db import init_database

        WorkerSettings._config.apply()
        await init_database(WorkerSettings._config.database_url)
        await WorkerSettings._kwargs["on_startup"](ctx)

    @staticmethod
    async def on_shutdown(ctx: dict) -> None:
        from services.db import close_database

        await WorkerSettings._kwargs["on_shutdown"](ctx)
        await close_database()
