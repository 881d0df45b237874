"""Campaigns without Redis (jobs in-process): filters, templates, consent, unsubscribe, batches,
retries, exactly one message per recipient, live stats and the customer timeline."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from models.campaigns import CampaignMessage, CustomerEvent
from models.customers import Customer
from services import campaigns, queue
from tests.conftest import Company
from tests.fakes.sms import FakeSmsGateway
from tests.fakes.smtp import FakeSmtp
from tests.test_workers_helpers import (
    ERRORS,
    Held,
    add_customers,
    drain,
    in_process_fixture,  # noqa: F401  (a fixture)
    use_sms,
    use_smtp,
)

CAMPAIGN = """id name channel status error batches stats { queued sending sent failed skipped recipients }
  audience { tags country customerIds totalSalesAbove }"""
CREATE = f"""mutation($input: CreateCampaignInput!) {{ createCampaign(input: $input) {{
  campaign {{ {CAMPAIGN} }} {ERRORS} }} }}"""
SEND = f"""mutation($input: SendCampaignInput!) {{ sendCampaign(input: $input) {{
  campaign {{ {CAMPAIGN} scheduledAt }} {ERRORS} }} }}"""
GET = f"""query($id: ID!) {{ campaign(id: $id) {{ {CAMPAIGN}
  messages(first: 250) {{ nodes {{ address status error attempts skipReason customer {{ id }} }} }} }} }}"""
TIMELINE = (
    """query($id: ID!) { customerTimeline(customerId: $id) { nodes { type channel summary campaignId } } }"""
)


async def create(company: Company, **data: object) -> dict:
    values = {
        "name": "Spring sale",
        "channel": "EMAIL",
        "subject": "Hi {{first_name}}",
        "body": "Dear {{name}}",
        **data,
    }
    return (await company.api.mutate("createCampaign", CREATE, {"input": values}))["campaign"]


async def send(company: Company, campaign_id: str, **data: object) -> dict:
    return (await company.api.mutate("sendCampaign", SEND, {"input": {"campaignId": campaign_id, **data}}))[
        "campaign"
    ]


async def get(company: Company, campaign_id: str) -> dict:
    return (await company.api.ok(GET, {"id": campaign_id}))["campaign"]


async def test_an_email_campaign_reaches_each_consenting_customer_of_the_segment_once(company, in_process):
    async with FakeSmtp() as smtp:
        await use_smtp(company, smtp.port)
        vip = await add_customers(company, 7, prefix="vip", tags=("vip",))
        no_consent = await add_customers(company, 2, prefix="quiet", tags=("vip",), email_consent=False)
        await add_customers(company, 3, prefix="other", tags=("other",))
        created = await create(company, audience={"tags": ["VIP"]}, batchSize=3)
        assert created["status"] == "DRAFT" and created["audience"]["tags"] == ["vip"]
        started = await send(company, created["id"])
        assert started["status"] == "SENDING" and started["batches"] == 3
        await drain(in_process)
        done = await get(company, created["id"])
        assert done["status"] == "DONE"
        assert done["stats"] == {
            "queued": 0,
            "sending": 0,
            "sent": 7,
            "failed": 0,
            "skipped": 2,
            "recipients": 9,
        }
        assert smtp.per_recipient() == {c.emails[0]: 1 for c in vip}
        assert len(smtp.transmissions) == 7
        mail = smtp.mailbox[next(iter(smtp.mailbox))]
        customer = next(c for c in vip if c.emails[0] == mail.to)
        assert mail.subject == f"Hi {customer.name.split()[0]}"
        assert mail.body.startswith(f"Dear {customer.name}")
        token = mail.headers["List-Unsubscribe"].strip("<>").rsplit("/", 1)[1]
        assert mail.headers["List-Unsubscribe"] == f"<http://shop.test/unsubscribe/{token}>"
        assert f"http://shop.test/unsubscribe/{token}" in mail.body
        skipped = {
            n["address"] or n["customer"]["id"]: n["skipReason"]
            for n in done["messages"]["nodes"]
            if n["status"] == "SKIPPED"
        }
        assert sorted(skipped) == sorted(str(c.id) for c in no_consent) and set(skipped.values()) == {
            "NO_CONSENT"
        }
        timeline = (await company.api.ok(TIMELINE, {"id": str(customer.id)}))["customerTimeline"]["nodes"]
        assert timeline == [
            {"type": "MESSAGE_SENT", "channel": "EMAIL", "summary": mail.subject, "campaignId": created["id"]}
        ]


async def test_the_unsubscribe_link_withdraws_consent_and_later_campaigns_skip_the_customer(
    company, client, in_process
):
    async with FakeSmtp() as smtp:
        await use_smtp(company, smtp.port)
        [anna] = await add_customers(company, 1, prefix="anna", tags=("news",))
        first = await create(company, audience={"tags": ["news"]})
        await send(company, first["id"])
        await drain(in_process)
        mail = next(iter(smtp.mailbox.values()))
        path = mail.headers["List-Unsubscribe"].strip("<>").removeprefix("http://shop.test")
        page = await client.get(path)
        assert page.status_code == 200 and '<form method="post">' in page.text
        assert (
            await Customer.get(id=anna.id)
        ).email_consent is True  # a GET (a mail scanner) changes nothing
        done = await client.post(path)
        assert done.status_code == 200 and "no more emails" in done.text
        again = await client.post(path)
        assert "already unsubscribed" in again.text
        assert (await client.post("/unsubscribe/not-a-token")).status_code == 404
        assert (await Customer.get(id=anna.id)).email_consent is False
        events = (
            await CustomerEvent.filter(customer_id=anna.id)
            .order_by("created_at")
            .values_list("type", flat=True)
        )
        assert events == ["MESSAGE_SENT", "UNSUBSCRIBED"]
        second = await create(company, audience={"tags": ["news"]})
        body = await company.api.ok(SEND, {"input": {"campaignId": second["id"]}})
        assert [e["code"] for e in body["sendCampaign"]["userErrors"]] == ["NO_RECIPIENTS"]
        assert len(smtp.transmissions) == 1


async def test_country_and_explicit_list_filters_choose_the_recipients(company, in_process):
    async with FakeSmtp() as smtp:
        await use_smtp(company, smtp.port)
        russians = await add_customers(company, 3, prefix="ru")
        britons = await add_customers(company, 2, prefix="uk", country="UK")
        by_country = await create(company, audience={"country": "UK"})
        await send(company, by_country["id"])
        listed = await create(company, audience={"customerIds": [str(russians[0].id), str(britons[0].id)]})
        await send(company, listed["id"])
        await drain(in_process)
        got = sorted(m.to for m in smtp.mailbox.values())
        expected = sorted([b.emails[0] for b in britons] + [russians[0].emails[0], britons[0].emails[0]])
        assert got == expected


async def test_transient_smtp_failures_are_retried_and_nobody_gets_two_messages(company, in_process):
    async with FakeSmtp() as smtp:
        await use_smtp(company, smtp.port)
        people = await add_customers(company, 12, prefix="retry")
        smtp.refused.add(people[5].emails[0])
        # busy, a dropped connection, one accepted but its answer lost, then a dropped one again
        smtp.fail_next("", "451", "", "drop", "", "drop_after", "", "hang")
        created = await create(company, audience={"customerIds": [str(c.id) for c in people]}, batchSize=5)
        campaigns.SEND_TIMEOUT_SECONDS, saved = 1.0, campaigns.SEND_TIMEOUT_SECONDS
        try:
            await send(company, created["id"])
            await drain(in_process)
        finally:
            campaigns.SEND_TIMEOUT_SECONDS = saved
        done = await get(company, created["id"])
        assert done["stats"]["sent"] == 11 and done["stats"]["failed"] == 1, done["stats"]
        failed = [n for n in done["messages"]["nodes"] if n["status"] == "FAILED"]
        assert failed[0]["address"] == people[5].emails[0] and "no such mailbox" in failed[0]["error"]
        assert smtp.per_recipient() == {c.emails[0]: 1 for i, c in enumerate(people) if i != 5}
        # The one whose acceptance was lost went out twice under one Message-ID: one in the mailbox.
        assert len(smtp.transmissions) == 12
        assert await CustomerEvent.filter(campaign_id=created["id"], type="MESSAGE_SENT").count() == 11


async def test_a_batch_that_keeps_failing_is_recorded_on_the_campaign(company, in_process):
    async with FakeSmtp() as smtp:
        port = smtp.port
    await use_smtp(company, port)  # nobody listens there any more
    people = await add_customers(company, 3, prefix="down")
    created = await create(company, audience={"customerIds": [str(c.id) for c in people]})
    await send(company, created["id"])
    await drain(in_process)
    done = await get(company, created["id"])
    assert done["status"] == "FAILED"
    assert done["stats"]["failed"] == 3 and done["stats"]["sent"] == 0
    assert "gave up after 4 tries" in done["error"] and "SMTP" in done["error"]


async def test_an_sms_campaign_goes_through_the_gateway_once_per_recipient_despite_errors(
    company, in_process
):
    async with FakeSmsGateway(max_length=335) as gateway:
        await use_sms(company, gateway.url)
        people = await add_customers(company, 6, prefix="sms", tags=("sms",))
        gateway.fail_next("500", "", "drop", "")
        created = await create(
            company,
            channel="SMS",
            subject=None,
            body="{{first_name}}, -20% today",
            audience={"tags": ["sms"]},
        )
        await send(company, created["id"])
        await drain(in_process)
        done = await get(company, created["id"])
        assert done["stats"]["sent"] == 6 and done["status"] == "DONE"
        assert gateway.per_recipient() == {c.phones[0]: 1 for c in people}
        text = next(iter(gateway.accepted.values()))["text"]
        assert text.startswith("Sms, -20% today\nStop: http://127.0.0.1:8000/unsubscribe/")


async def test_a_scheduled_campaign_waits_for_its_time(company, in_process):
    async with FakeSmtp() as smtp:
        await use_smtp(company, smtp.port)
        await add_customers(company, 2, prefix="later", tags=("later",))
        created = await create(company, audience={"tags": ["later"]})
        at = datetime.now(UTC) + timedelta(seconds=1)
        scheduled = await send(company, created["id"], sendAt=at.isoformat())
        assert scheduled["status"] == "SCHEDULED" and scheduled["stats"]["recipients"] == 0
        await asyncio.sleep(0.3)
        assert smtp.transmissions == []
        await drain(in_process)
        assert (await get(company, created["id"]))["status"] == "DONE"
        assert len(smtp.mailbox) == 2


async def test_customers_who_unsubscribe_after_the_start_are_skipped(company, in_process):
    async with FakeSmtp() as smtp:
        await use_smtp(company, smtp.port)
        people = await add_customers(company, 4, prefix="late")
        created = await create(company, audience={"customerIds": [str(c.id) for c in people]})
        held = Held()
        queue.use_queue(held)  # type: ignore[arg-type]
        await send(company, created["id"])
        await Customer.filter(id=people[0].id).update(email_consent=False)
        queue.use_queue(in_process)
        await held.release(in_process)
        await drain(in_process)
        done = await get(company, created["id"])
        assert done["stats"]["sent"] == 3 and done["stats"]["skipped"] == 1
        assert people[0].emails[0] not in smtp.per_recipient()


async def test_a_sweep_sends_what_a_lost_process_left_queued(company, in_process):
    """The outbox: the rows exist before the jobs; a sweep (at start-up, and by cron) finds them."""

    class Lost:
        """A process that died before its jobs ran: the enqueued jobs are gone."""

        async def enqueue(self, *args: object, **kwargs: object) -> bool:
            return True

    async with FakeSmtp() as smtp:
        await use_smtp(company, smtp.port)
        people = await add_customers(company, 5, prefix="lost")
        created = await create(company, audience={"customerIds": [str(c.id) for c in people]}, batchSize=2)
        queue.use_queue(Lost())  # type: ignore[arg-type]
        await send(company, created["id"])
        queue.use_queue(in_process)
        assert await CampaignMessage.filter(campaign_id=created["id"], status="QUEUED").count() == 5
        enqueued: list[str] = []
        real_enqueue = in_process.enqueue

        async def recording(*args: object, **kwargs: object) -> bool:
            added = await real_enqueue(*args, **kwargs)  # type: ignore[arg-type]
            if added and str(kwargs["job_id"]).startswith(f"campaign:{created['id']}:"):
                enqueued.append(str(kwargs["job_id"]))
            return added

        in_process.enqueue = recording  # type: ignore[method-assign]
        await queue.sweep()
        await queue.sweep()  # the same jobs again are not enqueued twice
        assert sorted(enqueued) == [f"campaign:{created['id']}:batch:{n}" for n in range(3)]
        await drain(in_process)
        assert smtp.per_recipient() == {c.emails[0]: 1 for c in people}
        assert len(smtp.transmissions) == 5
        assert (await get(company, created["id"]))["status"] == "DONE"


async def test_stats_of_a_page_of_campaigns_come_in_one_query(company, in_process):
    from tests.conftest import count_queries

    async with FakeSmtp() as smtp:
        await use_smtp(company, smtp.port)
        await add_customers(company, 2, prefix="page", tags=("page",))
        for _ in range(3):
            created = await create(company, audience={"tags": ["page"]})
            await send(company, created["id"])
        await drain(in_process)
        query = "{ campaigns(first: 10) { nodes { id stats { sent } } } }"
        with count_queries() as few:
            await company.api.ok(query)
        assert all(n["stats"]["sent"] == 2 for n in (await company.api.ok(query))["campaigns"]["nodes"])
        await create(company, audience={"tags": ["page"]})
        with count_queries() as more:
            await company.api.ok(query)
        assert len(more.statements) == len(few.statements)


async def test_last_order_and_total_sales_filters_use_the_customers_order_figures(company, in_process):
    from tests.test_orders_helpers import open_shop, place_ok

    async with FakeSmtp() as smtp:
        await use_smtp(company, smtp.port)
        shop = await open_shop(company)
        await place_ok(shop, [("A", 3)], customer={"name": "Big", "email": "big@example.com"})
        await place_ok(shop, [("C", 1)], customer={"name": "Small", "email": "small@example.com"})
        await add_customers(company, 1, prefix="never")  # no orders at all
        await Customer.filter(account_id=company.account_id).update(email_consent=True)
        hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        big = await create(company, audience={"totalSalesAbove": "100.00"})
        assert big["audience"]["totalSalesAbove"] == "100.00"
        await send(company, big["id"])
        recent_small = await create(company, audience={"lastOrderAfter": hour_ago, "totalSalesBelow": "50"})
        await send(company, recent_small["id"])
        stale = await create(company, audience={"lastOrderBefore": hour_ago})
        body = await company.api.ok(SEND, {"input": {"campaignId": stale["id"]}})
        assert [e["code"] for e in body["sendCampaign"]["userErrors"]] == ["EMPTY_SEGMENT"]
        await drain(in_process)
        assert (await get(company, big["id"]))["stats"]["recipients"] == 1
        assert (await get(company, recent_small["id"]))["stats"]["recipients"] == 1
        assert sorted(m.to for m in smtp.mailbox.values()) == ["big@example.com", "small@example.com"]
