"""Fiscal receipts without Redis (jobs in-process) against a fake ATOL-v4-style provider: one
receipt per payment and refund, token renewal, retries, idempotent submission, bad input."""

from __future__ import annotations

import uuid
from decimal import Decimal

from models.fiscal import AccountFiscalSettings, Receipt
from tests.conftest import Company
from tests.fakes.fiscal import FakeFiscalProvider
from tests.test_inventory_helpers import receive
from tests.test_orders_helpers import PAY, REFUND, open_shop, place_ok
from tests.test_workers_helpers import (
    ERRORS,
    drain,
    in_process_fixture,  # noqa: F401  (a fixture)
)

SETTINGS = f"""mutation($input: UpdateFiscalSettingsInput!) {{ updateFiscalSettings(input: $input) {{
  fiscalSettings {{ taxId taxSystem paymentAddress providerUrl groupCode login }} {ERRORS} }} }}"""
RECEIPT = """id kind status total currency customerEmail paymentId providerUuid submitAttempts
  fiscalDocumentNumber
  fiscalDocumentAttribute fnNumber shiftNumber receiptDatetime fnsSite errorCode errorText
  items { name price quantity sum vat vatSum paymentMethod paymentObject }"""
RECEIPTS = f"query($orderId: ID) {{ fiscalReceipts(orderId: $orderId) {{ nodes {{ {RECEIPT} }} }} }}"
RETRY = f"""mutation($input: RetryFiscalReceiptInput!) {{ retryFiscalReceipt(input: $input) {{
  receipt {{ id status }} {ERRORS} }} }}"""


async def use_provider(company: Company, provider: FakeFiscalProvider, **extra: object) -> None:
    await company.api.mutate(
        "updateFiscalSettings",
        SETTINGS,
        {
            "input": {
                "taxId": "7701234567",
                "taxSystem": "osn",
                "paymentAddress": "https://shop.example.com",
                "companyEmail": "shop@example.com",
                "providerUrl": provider.url,
                "groupCode": provider.group,
                "login": provider.login,
                "password": provider.password,
                "defaultVat": "vat20",
                **extra,
            }
        },
    )


async def pay(company: Company, order_id: str, amount: str, method: str = "CARD", **extra: object) -> dict:
    body = await company.api.ok(
        PAY, {"input": {"orderId": order_id, "amount": amount, "method": method, **extra}}
    )
    return body["registerPayment"]


async def receipts(company: Company, order_id: str) -> list[dict]:
    return (await company.api.ok(RECEIPTS, {"orderId": order_id}))["fiscalReceipts"]["nodes"]


async def test_a_payment_gets_a_receipt_submitted_and_its_fiscal_attributes_kept(company, in_process):
    async with FakeFiscalProvider() as provider:
        provider.report_waits = 2
        await use_provider(company, provider)
        shop = await open_shop(company)
        order = await place_ok(shop, [("A", 2), ("C", 3)])  # 2 × 100.00 + 3 × 9.99 = 229.97
        paid = await pay(company, order["id"], "229.97")
        assert paid["userErrors"] == []
        await drain(in_process)
        [receipt] = await receipts(company, order["id"])
        assert receipt["kind"] == "SELL" and receipt["status"] == "DONE"
        assert receipt["total"] == "229.97" and receipt["paymentId"] == paid["payment"]["id"]
        assert receipt["fiscalDocumentNumber"] == 132897 and receipt["fnNumber"] == "9999078900006211"
        assert receipt["fiscalDocumentAttribute"] == 1313456287 and receipt["shiftNumber"] == 173
        assert receipt["fnsSite"] == "www.nalog.ru" and receipt["receiptDatetime"] == "03.08.2018 23:21:00"
        assert [(i["sum"], i["paymentMethod"]) for i in receipt["items"]] == [
            ("200.00", "full_prepayment"),
            ("29.97", "full_prepayment"),
        ]
        assert [i["vatSum"] for i in receipt["items"]] == ["33.33", "5.00"]
        at_provider = provider.receipts[receipt["id"]]
        assert at_provider["receipt"]["total"] == 229.97
        assert at_provider["receipt"]["client"] == {"email": "ann@example.com"}
        assert at_provider["receipt"]["company"]["inn"] == "7701234567"
        assert provider.token_requests == 1


async def test_a_part_payment_and_a_refund_each_get_a_receipt_that_adds_up_exactly(company, in_process):
    async with FakeFiscalProvider() as provider:
        provider.report_waits = 0
        await use_provider(company, provider)
        shop = await open_shop(company)
        order = await place_ok(shop, [("A", 1), ("B", 1), ("C", 1)])  # 100.00 + 250.50 + 9.99 = 360.49
        first = await pay(company, order["id"], "100.00")
        await company.api.ok(REFUND, {"input": {"paymentId": first["payment"]["id"], "amount": "33.33"}})
        await drain(in_process)
        found = {r["kind"]: r for r in await receipts(company, order["id"])}
        assert set(found) == {"SELL", "SELL_REFUND"}
        for kind, total in (("SELL", "100.00"), ("SELL_REFUND", "33.33")):
            items = found[kind]["items"]
            assert sum(Decimal(i["sum"]) for i in items) == Decimal(total) == Decimal(found[kind]["total"])
            assert {i["paymentMethod"] for i in items} == {"prepayment"}
            assert found[kind]["status"] == "DONE"
        assert {r["operation"] for r in provider.receipts.values()} == {"sell", "sell_refund"}


async def test_an_expired_token_is_renewed_on_error_11(company, in_process):
    async with FakeFiscalProvider() as provider:
        provider.report_waits = 0
        await use_provider(company, provider)
        shop = await open_shop(company)
        for _ in range(2):
            order = await place_ok(shop, [("A", 1)])
            await pay(company, order["id"], "100.00")
            await drain(in_process)
            provider.expire_tokens()  # the next call answers 11
        assert provider.token_requests == 2
        assert await Receipt.filter(account_id=company.account_id, status="DONE").count() == 2
        settings = await AccountFiscalSettings.get(account_id=company.account_id)
        assert settings.token and settings.token_expires_at is not None


async def test_provider_errors_are_retried_and_the_provider_keeps_one_receipt_per_payment(
    company, in_process
):
    async with FakeFiscalProvider() as provider:
        provider.report_waits = 1
        await use_provider(company, provider)
        shop = await open_shop(company)
        order = await place_ok(shop, [("B", 2)])
        # token ok, post: 500, dropped, then accepted; report: dropped, then wait, then done
        provider.fail_next("", "500", "", "drop", "", "", "drop")
        await pay(company, order["id"], "501.00")
        await drain(in_process)
        [receipt] = await receipts(company, order["id"])
        assert receipt["status"] == "DONE", receipt
        assert len(provider.receipts) == 1


async def test_a_receipt_posted_again_after_a_lost_answer_is_not_counted_twice(company, in_process):
    """The provider took the receipt but the answer never came: the retry posts the same
    external_id and gets the same uuid back (error 33)."""
    async with FakeFiscalProvider() as provider:
        provider.report_waits = 0
        await use_provider(company, provider)
        shop = await open_shop(company)
        order = await place_ok(shop, [("A", 3)])
        original = provider._register

        def lose_first_answer(operation: str, body: dict):  # noqa: ANN202
            reply = original(operation, body)
            if provider.registrations == 1:
                from tests.fakes.http import DROP

                return DROP
            return reply

        provider._register = lose_first_answer  # type: ignore[method-assign]
        await pay(company, order["id"], "300.00")
        await drain(in_process)
        [receipt] = await receipts(company, order["id"])
        assert provider.registrations == 2 and len(provider.receipts) == 1
        assert receipt["status"] == "DONE" and receipt["submitAttempts"] == 2
        assert receipt["providerUuid"] == provider.receipts[receipt["id"]]["uuid"]


async def test_a_refused_receipt_is_failed_with_the_providers_error_shown_and_an_order_event(
    company, in_process
):
    async with FakeFiscalProvider() as provider:
        provider.report_waits = 0
        await use_provider(company, provider)
        shop = await open_shop(company)
        order = await place_ok(shop, [("A", 1)])
        provider.problems = lambda receipt: ["NumberTooSmall: #/receipt.total"]  # type: ignore[method-assign]
        await pay(company, order["id"], "100.00")
        await drain(in_process)
        [receipt] = await receipts(company, order["id"])
        assert receipt["status"] == "FAILED" and receipt["errorCode"] == 32
        assert "NumberTooSmall" in receipt["errorText"]
        events = (
            await company.api.ok(
                "query($id: ID!) { order(id: $id) { events { type comment } } }", {"id": order["id"]}
            )
        )["order"]["events"]
        assert any(
            "Fiscal receipt" in (e["comment"] or "") and "NumberTooSmall" in e["comment"] for e in events
        )
        # Fixed at the provider: submitted again under the same external_id.
        del provider.problems
        retried = await company.api.mutate(
            "retryFiscalReceipt", RETRY, {"input": {"receiptId": receipt["id"]}}
        )
        assert retried["receipt"]["status"] == "PENDING"
        await drain(in_process)
        [receipt] = await receipts(company, order["id"])
        assert receipt["status"] == "DONE"


async def test_a_provider_that_stays_down_fails_the_receipt_after_the_last_try(company, in_process):
    async with FakeFiscalProvider() as provider:
        await use_provider(company, provider)
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 1)])
    await pay(company, order["id"], "100.00")
    await drain(in_process)
    [receipt] = await receipts(company, order["id"])
    assert receipt["status"] == "FAILED" and "gave up after 4 tries" in receipt["errorText"], receipt


async def test_a_line_name_over_128_characters_is_trimmed_and_accepted(company, in_process):
    async with FakeFiscalProvider() as provider:
        provider.report_waits = 0
        await use_provider(company, provider)
        shop = await open_shop(company)
        product = {
            "article": "LONG",
            "name": "Ж" * 300,
            "prices": [{"priceType": "RETAIL", "amount": "5.00"}],
        }
        upserted = await company.api.mutate(
            "upsertProducts",
            """mutation($input: UpsertProductsInput!) { upsertProducts(input: $input) {
              products { variants { id } } userErrors { code } } }""",
            {"input": {"products": [product]}},
        )
        variant_id = uuid.UUID(upserted["products"][0]["variants"][0]["id"])
        await receive(shop.actor, shop.warehouse_id, {variant_id: 1})
        order = await place_ok(shop, [("LONG", 1)])
        await pay(company, order["id"], "5.00")
        await drain(in_process)
        [receipt] = await receipts(company, order["id"])
        assert receipt["status"] == "DONE"
        assert receipt["items"][0]["name"] == "Ж" * 128


async def test_a_payment_in_another_currency_is_refused_and_nothing_is_paid_or_sent(company, in_process):
    async with FakeFiscalProvider() as provider:
        await use_provider(company, provider)
        shop = await open_shop(company)
        order = await place_ok(shop, [("A", 1)])
        refused = await pay(company, order["id"], "100.00", currency="USD")
        assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [
            ("CURRENCY_MISMATCH", ["currency"])
        ]
        ok = await pay(company, order["id"], "100.00", currency="rub")
        assert ok["userErrors"] == []
        await drain(in_process)
        assert len(provider.receipts) == 1
        assert await Receipt.filter(account_id=company.account_id).count() == 1


async def test_an_account_without_fiscal_settings_gets_no_receipts(company, in_process):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 1)])
    await pay(company, order["id"], "100.00")
    await drain(in_process)
    assert await receipts(company, order["id"]) == []


async def test_fiscal_settings_are_checked(company):
    body = await company.api.ok(
        SETTINGS,
        {
            "input": {
                "taxId": "12",
                "taxSystem": "flat",
                "paymentAddress": "",
                "companyEmail": "x",
                "providerUrl": "ftp://x",
                "groupCode": "g",
                "login": "l",
            }
        },
    )
    codes = {(tuple(e["field"]), e["code"]) for e in body["updateFiscalSettings"]["userErrors"]}
    assert codes == {
        (("taxId",), "INVALID"),
        (("taxSystem",), "INVALID"),
        (("paymentAddress",), "REQUIRED"),
        (("companyEmail",), "INVALID_EMAIL"),
        (("providerUrl",), "INVALID_URL"),
        (("password",), "REQUIRED"),
    }
    assert await AccountFiscalSettings.filter(account_id=company.account_id).count() == 0
