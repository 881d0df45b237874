"""Campaigns with Redis and a real `backoffice worker` process: the worker is killed in the
middle of a 1,000-recipient campaign, started again, and every consenting recipient has exactly
one message."""

from __future__ import annotations

import asyncio
import time

import pytest

from models.campaigns import CampaignMessage, CustomerEvent
from tests.fakes.smtp import FakeSmtp
from tests.test_campaigns_sending import create, get, send
from tests.test_workers_helpers import (
    WorkerProcess,
    add_customers,
    arq_queue_fixture,  # noqa: F401  (a fixture)
    use_smtp,
    wait_until,
)

pytestmark = pytest.mark.redis


async def test_a_worker_killed_mid_campaign_and_started_again_messages_everyone_exactly_once(
    company, db, arq_queue
):
    async with FakeSmtp(delay=0.003) as smtp:
        await use_smtp(company, smtp.port)
        people = await add_customers(company, 1000, prefix="bulk", tags=("bulk",))
        await add_customers(company, 50, prefix="nope", tags=("bulk",), email_consent=False)
        worker = WorkerProcess(db.database_url, arq_queue.redis_url, arq_queue.queue_name).start()
        second: WorkerProcess | None = None
        try:
            created = await create(company, audience={"tags": ["bulk"]}, batchSize=50)
            began = time.monotonic()
            await send(company, created["id"])

            async def a_third_went_out() -> bool:
                assert worker.alive(), worker.output()
                return len(smtp.transmissions) >= 300

            await wait_until(a_third_went_out, seconds=40, every=0.02)
            worker.kill()
            at_kill = len(smtp.transmissions)
            first_phase = time.monotonic() - began
            assert at_kill < 1000, "the campaign finished before the worker was killed"
            in_flight = await CampaignMessage.filter(campaign_id=created["id"], status="SENDING").count()

            second = WorkerProcess(db.database_url, arq_queue.redis_url, arq_queue.queue_name).start()
            started = time.monotonic()

            async def finished() -> bool:
                assert second.alive(), second.output()
                return (await get(company, created["id"]))["status"] == "DONE"

            await wait_until(finished, seconds=45, every=0.3)
            resumed_in = time.monotonic() - started
        finally:
            worker.stop()
            if second is not None:
                second.stop()
        done = await get(company, created["id"])
        assert done["stats"] == {
            "queued": 0,
            "sending": 0,
            "sent": 1000,
            "failed": 0,
            "skipped": 50,
            "recipients": 1050,
        }
        assert smtp.per_recipient() == {c.emails[0]: 1 for c in people}
        assert await CustomerEvent.filter(campaign_id=created["id"], type="MESSAGE_SENT").count() == 1000
        # Only the messages in flight at the kill (SMTP has no idempotency key) went out twice,
        # under the same Message-ID, which the mailbox keeps once.
        duplicates = len(smtp.transmissions) - 1000
        assert 0 <= duplicates <= in_flight <= 10, (duplicates, in_flight)
        print(
            f"killed after {at_kill} sent in {first_phase:.1f}s, {in_flight} in flight; "
            f"rest done in {resumed_in:.1f}s"
        )


async def test_the_worker_process_sends_an_sms_campaign_and_stops_on_sigterm(company, db, arq_queue):
    from tests.fakes.sms import FakeSmsGateway
    from tests.test_workers_helpers import use_sms

    async with FakeSmsGateway() as gateway:
        await use_sms(company, gateway.url)
        people = await add_customers(company, 20, prefix="w", tags=("w",))
        gateway.fail_next("500", "", "drop")
        worker = WorkerProcess(db.database_url, arq_queue.redis_url, arq_queue.queue_name).start()
        try:
            created = await create(
                company,
                channel="SMS",
                subject=None,
                body="Hi {{first_name}}",
                audience={"tags": ["w"]},
                batchSize=7,
            )
            await send(company, created["id"])

            async def finished() -> bool:
                assert worker.alive(), worker.output()
                return (await get(company, created["id"]))["status"] == "DONE"

            await wait_until(finished, seconds=30, every=0.2)
        finally:
            worker.stop()
        assert worker.process is not None and worker.process.returncode == 0, worker.output()
        assert gateway.per_recipient() == {c.phones[0]: 1 for c in people}
        await asyncio.sleep(0)
