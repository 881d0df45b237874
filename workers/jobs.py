"""The job functions the arq worker runs: every job the services register (`services.queue.job`),
each wrapped to run through `services.queue.run_job` with arq's try count."""

from __future__ import annotations

from typing import Any

# Importing the domains registers their jobs and outbox sweepers.
from services import campaigns, dropship, fiscal, queue  # noqa: F401


def arq_functions(max_tries: int) -> list:
    from arq.worker import func

    functions = []
    for name, spec in sorted(queue.registered_jobs().items()):

        async def run(ctx: dict, *args: Any, _name: str = name, **kwargs: Any) -> Any:
            return await queue.run_job(_name, ctx["job_try"], *args, **kwargs)

        # arq's own limit is kept above ours: `run_job` records the final failure on the last try
        # (a worker killed mid-job uses up a try too, so leave room for a few).
        tries = (spec.max_tries or max_tries) + 3
        functions.append(func(run, name=name, max_tries=tries, timeout=spec.timeout_seconds))
    return functions
