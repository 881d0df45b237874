"""What each line of the Online Retail file is, and the products and customers it names.

Rules (docs/IMPORT.md gives the reasons):
- stock codes that differ only in letter case are one product: the code is upper-cased;
- a product's name is its first non-empty description on a priced line, else its first
  non-empty description at all (write-off notes such as "damaged" are not names), else the code;
- service codes (postage, manual corrections, fees, vouchers...) are non-stock service products;
- an `A` invoice is a bad-debt adjustment: no goods, no customer, no order to put it on.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from services.importing.reader import SourceRow

# Codes that are not goods: no stock is kept of them.
SERVICE_CODES = frozenset(
    {"POST", "DOT", "M", "C2", "D", "S", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS", "B"}
)
GIFT_VOUCHER_PREFIX = "GIFT_0001_"
PENNY = Decimal("0.01")


class RowKind(enum.StrEnum):
    SALE = "SALE"  # a customer's invoice, goods, quantity > 0
    GUEST_SALE = "GUEST_SALE"  # the same without a CustomerID
    SERVICE = "SERVICE"  # a service code on a sales invoice (postage, fees, vouchers, samples...)
    RETURN = "RETURN"  # a C invoice's goods line: the customer sends goods back
    CREDIT = "CREDIT"  # a C invoice's service line: money given back (discount, manual, fee...)
    WRITE_OFF = "WRITE_OFF"  # quantity < 0, no customer, price 0, not a C invoice: goods lost
    FOUND = "FOUND"  # quantity > 0, no customer, price 0, on an invoice with no priced line
    BAD_DEBT = "BAD_DEBT"  # an A invoice
    INVALID = "INVALID"  # none of the above: rejected with the reason


def product_code(raw: str) -> str:
    return raw.strip().upper()


def is_service_code(code: str) -> bool:
    return code in SERVICE_CODES or code.startswith(GIFT_VOUCHER_PREFIX)


def price_minor(price: Decimal) -> int:
    """Pence, rounded half to even: four lines in the data are priced at £0.001."""
    return int((price.quantize(PENNY, rounding=ROUND_HALF_EVEN) * 100).to_integral_value())


@dataclass(frozen=True, slots=True)
class Classified:
    row: SourceRow
    kind: RowKind
    code: str  # upper-cased
    price_minor: int
    duplicate: bool  # an exact copy of an earlier line (kept: see docs/IMPORT.md)
    reason: str = ""  # why an INVALID or BAD_DEBT row is not taken


CENT = Decimal("0.01")


@dataclass
class ProductInfo:
    code: str
    is_service: bool
    name: str = ""
    fallback_name: str = ""
    raw_codes: set[str] = field(default_factory=set)
    # The latest price it was sold at (lines come in time order): its catalog RETAIL price.
    last_price: Decimal | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.fallback_name or self.code


@dataclass
class CustomerInfo:
    code: str
    country: str
    countries: set[str] = field(default_factory=set)


def _invoice_kind(invoice: str) -> str:
    head = invoice[0].upper()
    return head if head.isalpha() else "N"


def classify(rows: Iterable[SourceRow]) -> list[Classified]:
    """Classifies every line; needs the whole file (a price-0 line depends on its invoice)."""
    rows = list(rows)
    priced_invoices = {r.invoice for r in rows if r.price > 0 and r.quantity > 0}
    seen: set[tuple] = set()
    result: list[Classified] = []
    for row in rows:
        key = row.key()
        duplicate = key in seen
        seen.add(key)
        code = product_code(row.code)
        service = is_service_code(code)
        minor = price_minor(row.price)
        kind, reason = _kind(row, service, row.invoice in priced_invoices)
        result.append(Classified(row, kind, code, minor, duplicate, reason))
    return result


def _kind(row: SourceRow, service: bool, invoice_priced: bool) -> tuple[RowKind, str]:
    prefix = _invoice_kind(row.invoice)
    if prefix == "A":
        return (
            RowKind.BAD_DEBT,
            "bad-debt adjustment (A invoice): an accounting entry with no goods and no customer",
        )
    if row.quantity == 0:
        return RowKind.INVALID, "quantity is 0"
    if row.price < 0:
        return RowKind.INVALID, "negative unit price outside a bad-debt adjustment"
    if prefix == "C":
        if row.quantity > 0:
            return RowKind.INVALID, "positive quantity on a cancellation (C) invoice"
        return (RowKind.CREDIT if service else RowKind.RETURN), ""
    if prefix != "N":
        return RowKind.INVALID, f"unknown invoice prefix {prefix!r}"
    if row.quantity < 0:
        if row.customer is None and row.price == 0 and not service:
            return RowKind.WRITE_OFF, ""
        return RowKind.INVALID, "negative quantity outside a cancellation that is not a stock write-off"
    unpriced_guest = row.customer is None and row.price == 0 and not invoice_priced
    if service:
        if unpriced_guest:
            return RowKind.INVALID, "an unpriced service line on a guest invoice where nothing was sold"
        return RowKind.SERVICE, ""
    if row.customer is not None:
        return RowKind.SALE, ""
    if unpriced_guest:
        return RowKind.FOUND, ""
    return RowKind.GUEST_SALE, ""


def catalog(lines: Iterable[Classified]) -> dict[str, ProductInfo]:
    """The products the taken lines name, by upper-cased code, in order of first appearance."""
    products: dict[str, ProductInfo] = {}
    for item in lines:
        if item.kind in (RowKind.BAD_DEBT, RowKind.INVALID):
            continue
        info = products.get(item.code)
        if info is None:
            info = products[item.code] = ProductInfo(item.code, is_service_code(item.code))
        info.raw_codes.add(item.row.code)
        if item.row.price > 0 and item.row.quantity > 0 and item.row.price == item.row.price.quantize(CENT):
            info.last_price = item.row.price
        text = item.row.description
        if text:
            if not info.name and item.row.price > 0:
                info.name = text
            if not info.fallback_name:
                info.fallback_name = text
    return products


def customers(lines: Iterable[Classified]) -> dict[str, CustomerInfo]:
    """Customers by CustomerID with the country of their first line (8 ids have several)."""
    found: dict[str, CustomerInfo] = {}
    for item in lines:
        code = item.row.customer
        if code is None or item.kind in (RowKind.BAD_DEBT, RowKind.INVALID):
            continue
        info = found.get(code)
        if info is None:
            info = found[code] = CustomerInfo(code, item.row.country)
        info.countries.add(item.row.country)
    return found
