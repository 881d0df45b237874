"""Bad campaign input: a clear error, and nothing written or sent."""

from __future__ import annotations

from models.campaigns import Campaign, CampaignMessage
from tests.fakes.sms import FakeSmsGateway
from tests.fakes.smtp import FakeSmtp
from tests.test_campaigns_sending import CREATE, SEND, create, get
from tests.test_workers_helpers import (
    add_customers,
    drain,
    in_process_fixture,  # noqa: F401  (a fixture)
    use_sms,
    use_smtp,
)


def codes(payload: dict) -> list[tuple[tuple[str, ...] | None, str]]:
    return [(tuple(e["field"]) if e["field"] else None, e["code"]) for e in payload["userErrors"]]


async def test_a_campaign_to_an_empty_segment_is_refused_and_nothing_is_sent(company, in_process):
    async with FakeSmtp() as smtp:
        await use_smtp(company, smtp.port)
        await add_customers(company, 3, prefix="x", tags=("regular",))
        created = await create(company, audience={"tags": ["nobody-has-this"]})
        body = await company.api.ok(SEND, {"input": {"campaignId": created["id"]}})
        assert codes(body["sendCampaign"]) == [(("campaignId",), "EMPTY_SEGMENT")]
        scheduled = await company.api.ok(
            SEND, {"input": {"campaignId": created["id"], "sendAt": "2999-01-01T00:00:00+00:00"}}
        )
        assert codes(scheduled["sendCampaign"]) == [(("campaignId",), "EMPTY_SEGMENT")]
        await drain(in_process)
        assert (await get(company, created["id"]))["status"] == "DRAFT"
        assert await CampaignMessage.filter(campaign_id=created["id"]).count() == 0
        assert smtp.transmissions == []


async def test_a_template_with_an_unknown_placeholder_is_refused(company):
    body = await company.api.ok(
        CREATE,
        {
            "input": {
                "name": "x",
                "channel": "EMAIL",
                "subject": "Hi {{ nickname }}",
                "body": "{{name}} {{bonus}}",
            }
        },
    )
    errors = body["createCampaign"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [
        (["subject"], "UNKNOWN_PLACEHOLDER"),
        (["body"], "UNKNOWN_PLACEHOLDER"),
    ]
    assert "{{nickname}}" in errors[0]["message"] and "first_name" in errors[0]["message"]
    assert await Campaign.filter(account_id=company.account_id).count() == 0


async def test_an_sms_over_the_gateways_length_is_refused_and_nothing_is_sent(company, in_process):
    async with FakeSmsGateway(max_length=160) as gateway:
        await use_sms(company, gateway.url, max_length=160)
        await add_customers(company, 2, prefix="long", tags=("long",))
        created = await create(
            company, channel="SMS", subject=None, body="{{name}} " + "x" * 120, audience={"tags": ["long"]}
        )
        body = await company.api.ok(SEND, {"input": {"campaignId": created["id"]}})
        [(field, code)] = codes(body["sendCampaign"])
        assert (field, code) == (("body",), "SMS_TOO_LONG")
        assert "160" in body["sendCampaign"]["userErrors"][0]["message"]
        await drain(in_process)
        assert gateway.requests == 0
        assert await CampaignMessage.filter(campaign_id=created["id"]).count() == 0
        assert (await get(company, created["id"]))["status"] == "DRAFT"


async def test_another_accounts_customer_in_the_list_is_not_found(company, other_company):
    [theirs] = await add_customers(other_company, 1, prefix="theirs")
    body = await company.api.ok(
        CREATE,
        {
            "input": {
                "name": "x",
                "channel": "EMAIL",
                "subject": "s",
                "body": "b",
                "audience": {"customerIds": [str(theirs.id)]},
            }
        },
    )
    assert codes(body["createCampaign"]) == [(("audience", "customerIds"), "NOT_FOUND")]
    assert await Campaign.filter(account_id=company.account_id).count() == 0


async def test_a_campaign_is_sent_once_and_needs_sending_settings(company, in_process):
    await add_customers(company, 1, prefix="once", tags=("once",))
    created = await create(company, audience={"tags": ["once"]})
    body = await company.api.ok(SEND, {"input": {"campaignId": created["id"]}})
    assert codes(body["sendCampaign"]) == [(("campaignId",), "NOT_CONFIGURED")]
    async with FakeSmtp() as smtp:
        await use_smtp(company, smtp.port)
        await company.api.mutate("sendCampaign", SEND, {"input": {"campaignId": created["id"]}})
        again = await company.api.ok(SEND, {"input": {"campaignId": created["id"]}})
        assert codes(again["sendCampaign"]) == [(("campaignId",), "ALREADY_SENT")]
        await drain(in_process)
        assert len(smtp.transmissions) == 1


async def test_bad_fields_are_reported_together(company):
    body = await company.api.ok(
        CREATE,
        {
            "input": {
                "name": " ",
                "channel": "EMAIL",
                "body": " ",
                "batchSize": 0,
                "audience": {"totalSalesAbove": "1.234", "lastOrderBefore": "2024-01-01T00:00:00"},
            }
        },
    )
    found = set(codes(body["createCampaign"]))
    assert {
        (("name",), "REQUIRED"),
        (("subject",), "REQUIRED"),
        (("body",), "REQUIRED"),
        (("batchSize",), "INVALID"),
        (("audience", "totalSalesAbove"), "TOO_MANY_DECIMALS"),
    } <= found
