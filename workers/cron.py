"""Periodic jobs. Adding one is one line in `CRON`: `every(seconds, "name", async_function)`.

The arq worker runs them as arq cron jobs (`unique`: each tick once across all workers); without
Redis, `workers.inprocess` runs the same list in the server process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from services import queue
from services.order_deadlines import BATCH, mark_overdue_orders


@dataclass(frozen=True)
class Periodic:
    name: str
    every_seconds: int
    run: Callable[[], Awaitable[Any]]
    at_startup: bool = False


def every(
    seconds: int, name: str, run: Callable[[], Awaitable[Any]], *, at_startup: bool = False
) -> Periodic:
    if not (
        60 % seconds == 0
        or (seconds % 60 == 0 and 3600 % seconds == 0)
        or (seconds % 3600 == 0 and 86400 % seconds == 0)
    ):
        raise ValueError(f"{name}: every {seconds}s does not divide a minute, an hour or a day")
    return Periodic(name, seconds, run, at_startup)


async def overdue_orders() -> int:
    """The confirmation-deadline watch: marks every order still NEW past its deadline, once."""
    total = 0
    while True:
        marked = await mark_overdue_orders()
        total += marked
        if marked < BATCH:
            return total


CRON: list[Periodic] = [
    every(10, "order_deadlines", overdue_orders),
    every(30, "outbox_sweep", queue.sweep, at_startup=True),
]


def arq_cron_jobs(entries: list[Periodic] | None = None) -> list:
    """`CRON` as arq cron jobs."""
    from arq.cron import cron

    jobs = []
    for entry in entries if entries is not None else CRON:
        seconds = entry.every_seconds
        when: dict[str, Any]
        if seconds < 60:
            when = {"second": set(range(0, 60, seconds))}
        elif seconds < 3600:
            when = {"minute": set(range(0, 60, seconds // 60)), "second": 0}
        else:
            when = {"hour": set(range(0, 24, seconds // 3600)), "minute": 0, "second": 0}

        async def run(ctx: dict, entry: Periodic = entry) -> Any:
            return await entry.run()

        jobs.append(
            cron(
                run,
                name=f"cron:{entry.name}",
                run_at_startup=entry.at_startup,
                unique=True,
                timeout=max(60, seconds * 5),
                **when,
            )
        )
    return jobs
