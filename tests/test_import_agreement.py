"""After importing a slice of the real file, the API's figures equal figures computed straight
from the CSV rows, by the definitions in docs/IMPORT.md (this test does not use the importer's
reader or classifier: it reads the CSV with the csv module)."""

from __future__ import annotations

import csv
import gzip
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from services.importing.load import import_online_retail
from tests.conftest import Api
from tests.import_helpers import DEMO, api_for

PASSWORD = "correct horse battery"
SERVICES = {"POST", "DOT", "M", "C2", "D", "S", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS", "B"}


def _pence(price: str) -> int:
    return int(Decimal(price).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN) * 100)


def _expected() -> dict:
    with gzip.open(DEMO, "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    priced_invoices = {r["InvoiceNo"] for r in rows if float(r["UnitPrice"]) > 0 and int(r["Quantity"]) > 0}
    invoices: dict[str, dict] = {}
    customers: set[str] = set()
    products: dict[str, int] = defaultdict(int)
    for r in rows:
        number, customer, qty = r["InvoiceNo"], r["CustomerID"], int(r["Quantity"])
        if number[0] == "A":
            continue
        if customer:
            customers.add(customer)
        if number[0] == "C" or qty <= 0:
            continue
        if not customer and float(r["UnitPrice"]) == 0 and number not in priced_invoices:
            continue  # stock found, not a sale
        at = datetime.strptime(r["InvoiceDate"], "%Y-%m-%d %H:%M:%S").replace(
            tzinfo=ZoneInfo("Europe/London")
        )
        invoice = invoices.setdefault(number, {"customer": customer, "at": at, "total": 0})
        invoice["at"] = min(invoice["at"], at)
        amount = qty * _pence(r["UnitPrice"])
        invoice["total"] += amount
        code = r["StockCode"].upper()
        if code not in SERVICES and not code.startswith("GIFT_0001_"):
            products[code] += amount
    per_customer: dict[str, dict] = {c: {"orders": 0, "total": 0, "last": None} for c in customers}
    for invoice in invoices.values():
        if invoice["customer"]:
            figures = per_customer[invoice["customer"]]
            figures["orders"] += 1
            figures["total"] += invoice["total"]
            at = invoice["at"].astimezone(UTC)
            figures["last"] = max(figures["last"] or at, at)
    top = sorted(products.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return {
        "revenue": sum(i["total"] for i in invoices.values()),
        "orders": len(invoices),
        "customers": per_customer,
        "repeat": sum(1 for f in per_customer.values() if f["orders"] >= 2),
        "top": top,
    }


CUSTOMERS = """query($after: String) {
  customers(filter: {tags: ["online-retail"]}, first: 100, after: $after) { pageInfo { hasNextPage endCursor }
  nodes { code metrics { lastSaleAt totalSales orderCount } } } }"""
ORDERS = """query($after: String) { orders(first: 100, after: $after) {
  pageInfo { hasNextPage endCursor }
  nodes { total paid lines { variant { sku } total } } } }"""


async def _all(api: Api, query: str, name: str) -> list[dict]:
    nodes: list[dict] = []
    after = None
    while True:
        page = (await api.ok(query, {"after": after}))[name]
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def _minor(text: str) -> int:
    return int(Decimal(text) * 100)


async def test_the_api_figures_agree_with_the_csv(db, client) -> None:
    email = f"agree-{uuid.uuid4().hex[:10]}@example.com"
    await import_online_retail(DEMO, email=email, password=PASSWORD)
    api = await api_for(Api(client), email, PASSWORD)
    expected = _expected()

    orders = await _all(api, ORDERS, "orders")
    assert len(orders) == expected["orders"]
    assert sum(_minor(o["total"]) for o in orders) == expected["revenue"]
    revenue_by_product: dict[str, int] = defaultdict(int)
    for order in orders:
        for line in order["lines"]:
            sku = line["variant"]["sku"]
            if sku not in SERVICES and not sku.startswith("GIFT_0001_"):
                revenue_by_product[sku] += _minor(line["total"])
    top = sorted(revenue_by_product.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert top == expected["top"]

    customers = [c for c in await _all(api, CUSTOMERS, "customers") if c["code"] != "GUEST"]
    assert len(customers) == len(expected["customers"])
    repeat = 0
    for customer in customers:
        want = expected["customers"][customer["code"]]
        metrics = customer["metrics"]
        assert metrics["orderCount"] == want["orders"], customer["code"]
        assert _minor(metrics["totalSales"]) == want["total"], customer["code"]
        got_last = datetime.fromisoformat(metrics["lastSaleAt"]) if metrics["lastSaleAt"] else None
        assert got_last == want["last"], customer["code"]
        repeat += metrics["orderCount"] >= 2
    assert repeat == expected["repeat"] > 0
