"""The import as a plan: what each invoice becomes, worked out in memory before anything is written.

- a sales invoice (no prefix) with goods or service lines → one order at the invoice's time,
  taken to COMPLETED and paid in full; its write-off lines → a WRITE_OFF document; its "found"
  lines → a RECEIPT document;
- a C invoice → returns: each goods line is matched to the same customer's earlier sales of
  that product, latest first; the matched part is refunded on the order it came from (at the C
  line's price, never more than the order still holds) and its goods come back to stock; the
  part with no matching sale still comes back to stock and is reported, without a refund.
  A C invoice's service lines (discounts, manual credits, fees) are refunded on the customer's
  latest earlier order that still holds that much, else rejected;
- an A invoice and an invalid line → the reject file, with the reason.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.importing.classify import (
    Classified,
    CustomerInfo,
    ProductInfo,
    RowKind,
    catalog,
    customers,
)

ORDER_KINDS = (RowKind.SALE, RowKind.GUEST_SALE, RowKind.SERVICE)


@dataclass
class PlannedLine:
    code: str
    quantity: int  # whole units, positive
    price_minor: int
    source_line: int
    returned: int = 0  # units matched by later returns

    @property
    def total_minor(self) -> int:
        return self.quantity * self.price_minor


@dataclass
class Refund:
    invoice: str  # the order refunded
    amount_minor: int
    reason: str  # the C invoice it comes from


@dataclass
class ReturnedGoods:
    code: str
    quantity: int
    matched_invoices: list[str]  # the orders the goods had been sold on ("" part: unmatched)
    unmatched: int  # units with no earlier sale to this customer
    source_line: int


@dataclass
class InvoicePlan:
    number: str
    at: datetime  # naive local time: the earliest time on the invoice
    customer: str | None
    country: str
    order_lines: list[PlannedLine] = field(default_factory=list)
    write_offs: list[tuple[str, int, int]] = field(default_factory=list)  # (code, units, line)
    found: list[tuple[str, int, int]] = field(default_factory=list)
    returns: list[ReturnedGoods] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)  # made by this (C) invoice
    refunded_minor: int = 0  # refunds made on this invoice's order by later C invoices

    @property
    def is_order(self) -> bool:
        return bool(self.order_lines)

    @property
    def total_minor(self) -> int:
        return sum(line.total_minor for line in self.order_lines)

    @property
    def refundable_minor(self) -> int:
        return self.total_minor - self.refunded_minor


@dataclass
class Reject:
    line: int
    reason: str
    row: Classified


@dataclass
class ImportPlan:
    source_digest: str
    rows: int
    products: dict[str, ProductInfo]
    customers: dict[str, CustomerInfo]
    invoices: list[InvoicePlan]  # in time order
    rejects: list[Reject]
    counts: dict[str, int]  # the summary: each kind of line and what became of it

    @property
    def orders(self) -> list[InvoicePlan]:
        return [i for i in self.invoices if i.is_order]


def _digest(rows: Sequence[Classified]) -> str:
    h = hashlib.sha256()
    for item in rows:
        h.update(repr(item.row.key()).encode())
    return h.hexdigest()


def build_plan(lines: Sequence[Classified]) -> ImportPlan:
    counts: dict[str, int] = defaultdict(int)
    rejects: list[Reject] = []
    by_invoice: dict[str, InvoicePlan] = {}
    for item in lines:
        counts[f"lines {item.kind.value}"] += 1
        if item.duplicate:
            counts["exact duplicate lines (kept as lines of their own)"] += 1
        if item.row.code != item.code:
            counts["lines whose stock code was upper-cased"] += 1
        if item.price_minor * 1 != item.row.price * 100:
            counts["lines whose price was rounded to the penny"] += 1
        if item.kind in (RowKind.BAD_DEBT, RowKind.INVALID):
            rejects.append(Reject(item.row.line, item.reason, item))
            continue
        row = item.row
        plan = by_invoice.get(row.invoice)
        if plan is None:
            plan = by_invoice[row.invoice] = InvoicePlan(row.invoice, row.at, row.customer, row.country)
        plan.at = min(plan.at, row.at)
        if item.kind in ORDER_KINDS:
            plan.order_lines.append(PlannedLine(item.code, row.quantity, item.price_minor, row.line))
        elif item.kind == RowKind.WRITE_OFF:
            plan.write_offs.append((item.code, -row.quantity, row.line))
        elif item.kind == RowKind.FOUND:
            plan.found.append((item.code, row.quantity, row.line))
    # Time order; an invoice keeps its place in the file among invoices of the same minute.
    invoices = sorted(by_invoice.values(), key=lambda p: p.at)
    _match_returns(invoices, lines, rejects, counts)
    rejects.sort(key=lambda r: r.line)
    taken = [i for i in lines if i.kind not in (RowKind.BAD_DEBT, RowKind.INVALID)]
    plan = ImportPlan(
        _digest(lines), len(lines), catalog(taken), customers(taken), invoices, rejects, dict(counts)
    )
    orders = plan.orders
    plan.counts["orders"] = len(orders)
    plan.counts["guest orders"] = sum(1 for o in orders if o.customer is None)
    plan.counts["products"] = sum(1 for p in plan.products.values() if not p.is_service)
    plan.counts["service products"] = sum(1 for p in plan.products.values() if p.is_service)
    plan.counts["customers"] = len(plan.customers)
    plan.counts["customers with more than one country (first kept)"] = sum(
        1 for c in plan.customers.values() if len(c.countries) > 1
    )
    plan.counts["write-off documents"] = sum(1 for i in invoices if i.write_offs)
    plan.counts["found-stock receipts"] = sum(1 for i in invoices if i.found)
    plan.counts["rejected lines"] = len(rejects)
    return plan


def _match_returns(
    invoices: list[InvoicePlan], lines: Sequence[Classified], rejects: list[Reject], counts: dict[str, int]
) -> None:
    """Walks the invoices in time order, matching each C line to what the customer bought before."""
    by_invoice: dict[str, list[Classified]] = defaultdict(list)
    for item in lines:
        if item.kind in (RowKind.RETURN, RowKind.CREDIT):
            by_invoice[item.row.invoice].append(item)
    sold: dict[tuple[str, str], list[tuple[InvoicePlan, PlannedLine]]] = defaultdict(list)
    orders_of: dict[str, list[InvoicePlan]] = defaultdict(list)
    for plan in invoices:
        for item in by_invoice.get(plan.number, ()):
            if item.kind == RowKind.RETURN:
                _take_return(plan, item, sold, counts)
            else:
                _take_credit(plan, item, orders_of, rejects, counts)
        if plan.is_order and plan.customer is not None:
            orders_of[plan.customer].append(plan)
            for line in plan.order_lines:
                sold[(plan.customer, line.code)].append((plan, line))


def _take_return(
    plan: InvoicePlan,
    item: Classified,
    sold: dict[tuple[str, str], list[tuple[InvoicePlan, PlannedLine]]],
    counts: dict[str, int],
) -> None:
    wanted = -item.row.quantity
    left = wanted
    matched: list[str] = []
    if plan.customer is not None:
        for order, line in reversed(sold.get((plan.customer, item.code), [])):
            if left == 0:
                break
            take = min(left, line.quantity - line.returned)
            if take <= 0:
                continue
            amount = min(take * item.price_minor, order.refundable_minor)
            line.returned += take
            left -= take
            matched.append(order.number)
            if amount > 0:
                order.refunded_minor += amount
                plan.refunds.append(Refund(order.number, amount, plan.number))
    plan.returns.append(ReturnedGoods(item.code, wanted, matched, left, item.row.line))
    if left == 0:
        counts["RETURN lines matched to an earlier sale (refunded, goods back in stock)"] += 1
    elif left == wanted:
        counts["RETURN lines with no matching sale (goods back in stock, no refund, reported)"] += 1
    else:
        counts["RETURN lines partly matched (matched part refunded, all goods back in stock)"] += 1


def _take_credit(
    plan: InvoicePlan,
    item: Classified,
    orders_of: dict[str, list[InvoicePlan]],
    rejects: list[Reject],
    counts: dict[str, int],
) -> None:
    amount = -item.row.quantity * item.price_minor
    if amount == 0:
        counts["CREDIT lines of no amount (nothing to refund)"] += 1
        return
    if plan.customer is None:
        rejects.append(
            Reject(item.row.line, "a credit without a customer: there is no order to refund", item)
        )
        return
    for order in reversed(orders_of.get(plan.customer, [])):
        if order.refundable_minor >= amount:
            order.refunded_minor += amount
            plan.refunds.append(Refund(order.number, amount, plan.number))
            counts["CREDIT lines refunded on the customer's latest order"] += 1
            return
    rejects.append(
        Reject(
            item.row.line,
            "a credit larger than what any earlier order of the customer has left to refund",
            item,
        )
    )
