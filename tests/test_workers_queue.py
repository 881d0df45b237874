"""The queue interface: jobs in-process (retries with back-off, final failures recorded, one run per
job id, enqueued only after commit), on arq (deduplicated by job id), the cron registry, and
`backoffice worker` surviving Redis going away and coming back."""

from __future__ import annotations

import asyncio
import shutil
import time

import pytest

from models.accounts import Account
from services import queue
from services.db import transaction
from tests.fakes.smtp import FakeSmtp
from tests.test_workers_helpers import (
    RedisServer,
    WorkerProcess,
    add_customers,
    drain,
    in_process_fixture,  # noqa: F401  (a fixture)
    use_smtp,
)
from workers.cron import CRON, arq_cron_jobs, every

calls: list[tuple[str, float]] = []
failures: list[tuple[str, str]] = []


async def _flaky_failed(key: str, fail_times: int, *, error: str) -> None:
    failures.append((key, error))


@queue.job("test.flaky", on_failure=_flaky_failed)
async def flaky(key: str, fail_times: int) -> str:
    calls.append((key, time.monotonic()))
    if sum(1 for k, _ in calls if k == key) <= fail_times:
        raise queue.Transient(f"not yet ({key})")
    return "ok"


@queue.job("test.broken", on_failure=_flaky_failed)
async def broken(key: str, fail_times: int) -> None:
    calls.append((key, time.monotonic()))
    raise ValueError("a bug")


def tries(key: str) -> list[float]:
    return [at for k, at in calls if k == key]


async def test_transient_errors_are_retried_with_growing_back_off_until_the_job_succeeds(in_process):
    await queue.enqueue("test.flaky", "a", 2, job_id="flaky:a")
    await drain(in_process)
    times = tries("a")
    assert len(times) == 3
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[1] > gaps[0]  # 0.05 s, then twice that
    assert not [f for f in failures if f[0] == "a"]


async def test_after_the_last_try_the_failure_is_recorded_once(in_process):
    await queue.enqueue("test.flaky", "b", 99, job_id="flaky:b")
    await drain(in_process)
    assert len(tries("b")) == 4  # max_tries in the test configuration
    assert [f for f in failures if f[0] == "b"] == [("b", "gave up after 4 tries: not yet (b)")]


async def test_other_exceptions_are_final_at_once(in_process):
    await queue.enqueue("test.broken", "c", 0, job_id="broken:c")
    await drain(in_process)
    assert len(tries("c")) == 1
    assert [f for f in failures if f[0] == "c"] == [("c", "ValueError: a bug")]


async def test_a_job_id_enqueued_again_while_queued_runs_once(in_process):
    assert await queue.enqueue("test.flaky", "d", 0, job_id="same", defer_by=0.1) is True
    assert await queue.enqueue("test.flaky", "d", 0, job_id="same") is False
    await drain(in_process)
    assert len(tries("d")) == 1


async def test_jobs_are_enqueued_only_after_their_rows_commit(db, in_process):
    with pytest.raises(RuntimeError):
        async with transaction():
            await Account.create(name="rolled back")
            queue.enqueue_after_commit("test.flaky", "e", 0, job_id="e")
            assert in_process.pending() == 0
            raise RuntimeError("roll back")
    async with transaction():
        await Account.create(name="kept")
        queue.enqueue_after_commit("test.flaky", "f", 0, job_id="f")
        assert in_process.pending() == 0
    await drain(in_process)
    assert tries("e") == [] and len(tries("f")) == 1


async def test_arq_deduplicates_a_job_id_while_the_job_is_queued(redis_url):
    running = queue.ArqQueue(redis_url, f"test:dedup:{time.time_ns()}")
    try:
        assert await running.enqueue("test.flaky", "g", 0, job_id=f"g:{time.time_ns()}:x") is True
        job_id = f"g:{time.time_ns()}"
        assert await running.enqueue("test.flaky", "g", 0, job_id=job_id) is True
        assert await running.enqueue("test.flaky", "g", 0, job_id=job_id) is False
        pool = await running.pool()
        assert await pool.zcard(running.queue_name) == 2
        await pool.delete(running.queue_name)
    finally:
        await running.close()


def test_adding_a_periodic_job_is_one_line_in_the_cron_registry():
    names = {entry.name for entry in CRON}
    assert {"order_deadlines", "outbox_sweep"} <= names
    jobs = {job.name: job for job in arq_cron_jobs([*CRON, every(15, "reminders", queue.sweep)])}
    assert jobs["cron:reminders"].second == {0, 15, 30, 45}
    assert jobs["cron:order_deadlines"].second == {0, 10, 20, 30, 40, 50}
    assert jobs["cron:outbox_sweep"].run_at_startup is True
    assert all(job.unique for job in jobs.values())
    with pytest.raises(ValueError):
        every(7, "odd", queue.sweep)


@pytest.mark.redis
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server program")
async def test_backoffice_worker_starts_again_when_redis_goes_away_and_comes_back(company, db, redis_url):
    """A private redis-server is stopped under a running worker and started again (empty)."""
    from tests.test_campaigns_sending import create, get, send

    redis = RedisServer()
    redis.start()
    running = queue.ArqQueue(redis.url, "test:restart")
    queue.use_queue(running)
    worker = WorkerProcess(db.database_url, redis.url, "test:restart").start()
    try:
        async with FakeSmtp() as smtp:
            await use_smtp(company, smtp.port)
            people = await add_customers(company, 3, prefix="restart", tags=("restart",))

            async def campaign_done(campaign_id: str) -> bool:
                assert worker.alive(), worker.output()
                return (await get(company, campaign_id))["status"] == "DONE"

            first = await create(company, audience={"tags": ["restart"]})
            await send(company, first["id"])
            await wait(lambda: campaign_done(first["id"]))
            redis.stop()
            await running.close()
            await asyncio.sleep(1.5)
            assert worker.alive(), "the worker process must outlive Redis"
            # While Redis is away the campaign is written; its jobs cannot be enqueued (the
            # after-commit enqueue fails and is logged): the sweep at the worker's restart finds them.
            second = await create(company, audience={"tags": ["restart"]})
            await send(company, second["id"])
            redis.start()
            await wait(lambda: campaign_done(second["id"]), seconds=30)
            assert worker.alive()
        assert smtp.per_recipient() == {c.emails[0]: 2 for c in people}
        assert "worker 2 started" in worker.output()
    finally:
        worker.stop()
        queue.use_queue(None)
        await running.close()
        redis.stop()


async def wait(check, seconds: float = 20) -> None:  # noqa: ANN001
    from tests.test_workers_helpers import wait_until

    async def named() -> bool:
        return await check()

    await wait_until(named, seconds=seconds, every=0.2)
