"""Loading the Online Retail data into an account: orders, returns, stock, and idempotence."""

from __future__ import annotations

import uuid
from pathlib import Path

from tortoise.functions import Count, Sum

from models.accounts import Account
from models.events import Event
from models.inventory import StockDocument, StockLevel, StockMovement
from models.orders import Order, OrderLine, Payment
from services.importing.load import ImportRefused, import_online_retail
from tests.conftest import Api
from tests.import_helpers import api_for, write_csv
from tests.test_import_classify import ROWS

PASSWORD = "correct horse battery"
SUMMER = ["550001", "22633", "HAND WARMER", "1", "2011-06-01 10:00:00", "1.85", "12347", "Iceland"]
SALE_THEN_SHORT = [
    ["560001", "23166", "JAR", "10", "2011-07-01 10:00:00", "1.00", "12348", "Finland"],
    ["560002", "23166", "damages", "-5", "2011-07-01 11:00:00", "0", "", "United Kingdom"],
]


async def _import(tmp_path: Path, rows: list[list[str]] | None = None):
    email = f"import-{uuid.uuid4().hex[:10]}@example.com"
    path = write_csv(tmp_path / "f.csv.gz", rows or [*ROWS, SUMMER, *SALE_THEN_SHORT])
    result = await import_online_retail(path, email=email, password=PASSWORD, batch_invoices=3)
    return email, path, result


async def _snapshot(account_id: uuid.UUID) -> dict:
    out = {}
    for model in (Order, OrderLine, Payment, StockDocument, StockMovement, StockLevel, Event):
        out[model.__name__] = await model.filter(account_id=account_id).count()
    out["on_hand"] = (
        await StockLevel.filter(account_id=account_id)
        .annotate(s=Sum("on_hand_milli"))
        .values_list("s", flat=True)
    )
    out["refunded"] = (
        await Order.filter(account_id=account_id)
        .annotate(s=Sum("refunded_minor"))
        .values_list("s", flat=True)
    )
    account = await Account.get(id=account_id)
    out["counters"] = (account.last_order_number, account.event_seq)
    return out


async def test_import_creates_the_gbp_london_account_and_orders_at_invoice_time(
    db, client, tmp_path: Path
) -> None:
    email, _, result = await _import(tmp_path)
    assert result.account_created
    account = await Account.get(id=result.account_id)
    assert (account.currency, account.timezone) == ("GBP", "Europe/London")
    api = await api_for(Api(client), email, PASSWORD)
    data = await api.ok(
        """{ orders(first: 50) { totalCount nodes { externalId status paymentStatus createdAt total paid
             customer { code } lines { variant { sku } quantity price } events { type toStatus } } } }"""
    )
    orders = {o["externalId"]: o for o in data["orders"]["nodes"]}
    assert set(orders) == {"540001", "540002", "540008", "550001", "560001"}
    winter, summer = orders["540001"], orders["550001"]
    assert winter["createdAt"].startswith("2011-03-01T10:00:00") and winter["createdAt"].endswith("+00:00")
    assert summer["createdAt"].startswith("2011-06-01T09:00:00")  # 10:00 BST
    assert winter["status"] == "COMPLETED" and winter["customer"]["code"] == "17850"
    assert [e["toStatus"] for e in winter["events"] if e["type"] in ("CREATED", "STATUS_CHANGED")] == [
        "NEW",
        "CONFIRMED",
        "PACKED",
        "SHIPPED",
        "DELIVERED",
        "COMPLETED",
    ]
    assert "PAID" in [e["type"] for e in winter["events"]] and "REFUNDED" in [
        e["type"] for e in winter["events"]
    ]
    assert (
        winter["total"] == "63.90" and winter["paid"] == "48.70"
    )  # 63.90 less 10.20 (4 returned) and 5.00 (discount)
    assert orders["540002"]["customer"]["code"] == "GUEST"
    assert [line["variant"]["sku"] for line in winter["lines"]] == ["85123A", "85123A", "85123A", "POST"]


async def test_customers_are_found_by_their_customer_id(db, client, tmp_path: Path) -> None:
    email, _, _ = await _import(tmp_path)
    api = await api_for(Api(client), email, PASSWORD)
    data = await api.ok('{ customers(search: "17850") { nodes { code name country } } }')
    assert data["customers"]["nodes"] == [
        {"code": "17850", "name": "Customer 17850", "country": "United Kingdom"}
    ]


async def test_stock_never_goes_below_zero_and_write_offs_are_documents(db, tmp_path: Path) -> None:
    _, _, result = await _import(tmp_path)
    account_id = result.account_id
    kinds = dict(
        await StockDocument.filter(account_id=account_id)
        .annotate(n=Count("id"))
        .group_by("kind")
        .values_list("kind", "n")
    )
    assert (
        kinds["WRITE_OFF"] == 2 and kinds["RETURN"] == 1 and kinds["SHIPMENT"] >= 3 and kinds["RECEIPT"] >= 2
    )
    running: dict = {}
    movements = await StockMovement.filter(account_id=account_id).order_by("posted_at", "quantity_milli")
    # Receipts come first at any moment: sorting by time then by quantity puts them before outflows.
    for movement in sorted(movements, key=lambda m: (m.posted_at, -m.quantity_milli)):
        running[movement.variant_id] = running.get(movement.variant_id, 0) + movement.quantity_milli
        assert running[movement.variant_id] >= 0, movement.document_id
    levels = {lv.variant_id: lv.on_hand_milli for lv in await StockLevel.filter(account_id=account_id)}
    assert levels == {k: v for k, v in running.items()}
    # services hold no stock
    post_lines = await OrderLine.filter(account_id=account_id, variant__sku="POST")
    assert post_lines and all(line.warehouse_id is None for line in post_lines)


async def test_running_the_import_twice_changes_nothing(db, tmp_path: Path) -> None:
    email, path, first = await _import(tmp_path)
    before = await _snapshot(first.account_id)
    second = await import_online_retail(path, email=email, password=PASSWORD, batch_invoices=3)
    assert second.account_id == first.account_id and not second.account_created
    assert await _snapshot(first.account_id) == before
    assert second.written.get("orders written", 0) == 0


async def test_an_interrupted_import_finishes_when_run_again(db, tmp_path: Path) -> None:
    email, path, first = await _import(tmp_path)
    complete = await _snapshot(first.account_id)
    # Take away the last batch's orders as if the run had stopped before it committed.
    account_id = first.account_id
    last = await Order.filter(account_id=account_id, external_id="560001").get()
    await Event.filter(account_id=account_id, order_id=last.id).delete()
    await Payment.filter(account_id=account_id, order_id=last.id).delete()
    await OrderLine.filter(account_id=account_id, order_id=last.id).delete()
    await last.delete()
    assert (await _snapshot(account_id))["Order"] == complete["Order"] - 1
    await import_online_retail(path, email=email, password=PASSWORD, batch_invoices=3)
    assert (await _snapshot(account_id))["Order"] == complete["Order"]


async def test_a_wrong_password_or_a_non_gbp_account_is_refused(db, client, tmp_path: Path) -> None:
    from tests.conftest import sign_up

    email, path, _ = await _import(tmp_path)
    try:
        await import_online_retail(path, email=email, password="not the password")
        raise AssertionError("expected a refusal")
    except ImportRefused as exc:
        assert "password" in str(exc)
    rubles = await sign_up(client, currency="RUB")
    try:
        await import_online_retail(path, email=rubles.email, password=rubles.password)
        raise AssertionError("expected a refusal")
    except ImportRefused as exc:
        assert "GBP" in str(exc)
    assert await Order.filter(account_id=rubles.account_id).count() == 0
