"""Fiscal submission with Redis and a real `backoffice worker` process: the worker is killed in
the middle of submitting, started again, and the provider holds exactly one receipt per payment."""

from __future__ import annotations

import pytest

from models.fiscal import Receipt
from tests.fakes.fiscal import FakeFiscalProvider
from tests.test_fiscal_receipts import pay, use_provider
from tests.test_orders_helpers import open_shop, place_ok
from tests.test_workers_helpers import (
    WorkerProcess,
    arq_queue_fixture,  # noqa: F401  (a fixture)
    wait_until,
)

pytestmark = pytest.mark.redis

PAYMENTS = 30


async def test_a_worker_killed_mid_submission_leaves_one_receipt_per_payment_at_the_provider(
    company, db, arq_queue
):
    async with FakeFiscalProvider() as provider:
        provider.slow = 0.1
        provider.report_waits = 1
        await use_provider(company, provider)
        shop = await open_shop(company, stock={"A": PAYMENTS, "B": 0, "C": 0, "KG": 0})
        for _ in range(PAYMENTS):
            order = await place_ok(shop, [("A", 1)])
            assert (await pay(company, order["id"], "100.00"))["userErrors"] == []
        ours = set(await Receipt.filter(account_id=company.account_id).values_list("id", flat=True))
        assert len(ours) == PAYMENTS  # written with the payments, waiting in Redis for a worker
        worker = WorkerProcess(db.database_url, arq_queue.redis_url, arq_queue.queue_name).start()
        second: WorkerProcess | None = None
        try:

            async def a_third_posted() -> bool:
                assert worker.alive(), worker.output()
                return provider.registrations >= PAYMENTS // 3

            await wait_until(a_third_posted, seconds=30, every=0.01)
            worker.kill()
            at_kill = provider.registrations
            assert at_kill < PAYMENTS
            second = WorkerProcess(db.database_url, arq_queue.redis_url, arq_queue.queue_name).start()

            async def all_done() -> bool:
                assert second.alive(), second.output()
                return await Receipt.filter(account_id=company.account_id, status="DONE").count() == PAYMENTS

            try:
                await wait_until(all_done, seconds=45, every=0.3)
            except AssertionError:
                states = await Receipt.filter(account_id=company.account_id).values_list(
                    "status", "error_text"
                )
                raise AssertionError((states, worker.output()[-3000:], second.output()[-3000:])) from None
        finally:
            worker.stop()
            if second is not None:
                second.stop()
        assert set(provider.receipts) == {str(i) for i in ours}
        assert len({r["uuid"] for r in provider.receipts.values()}) == PAYMENTS
        # Posts cut off by the kill were made again: the provider answered them with the receipt it had.
        assert provider.registrations >= PAYMENTS
        stored = await Receipt.filter(account_id=company.account_id).values_list("id", "provider_uuid")
        assert all(provider.receipts[str(i)]["uuid"] == u for i, u in stored)
