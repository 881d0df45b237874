"""The summary of an import and its reject file."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import TextIO

from services.importing.classify import RowKind
from services.importing.load import ImportResult
from services.importing.plan import ImportPlan

_KIND_TEXT = {
    RowKind.SALE: "goods sold to a customer → order lines",
    RowKind.GUEST_SALE: "goods sold without a CustomerID → lines of guest orders",
    RowKind.SERVICE: "service lines (postage, fees, vouchers...) → non-stock order lines",
    RowKind.RETURN: "C-invoice goods lines → RETURN documents (+ refunds where a sale matches)",
    RowKind.CREDIT: "C-invoice service lines (discounts, manual, fees) → refunds",
    RowKind.WRITE_OFF: "stock write-offs → WRITE_OFF documents",
    RowKind.FOUND: "stock found (price 0, no customer, unpriced invoice) → RECEIPT documents",
    RowKind.BAD_DEBT: "bad-debt adjustments (A invoices) → reject file",
    RowKind.INVALID: "invalid lines → reject file",
}


def summary_lines(plan: ImportPlan, result: ImportResult | None = None) -> list[str]:
    counts = plan.counts
    out = [f"lines read: {plan.rows:,}"]
    for kind in RowKind:
        n = counts.get(f"lines {kind.value}", 0)
        if n:
            out.append(f"  {n:>9,}  {kind.value:<10} {_KIND_TEXT[kind]}")
    out.append("what became of them:")
    kinds = {f"lines {kind.value}" for kind in RowKind}
    for key in sorted(k for k in counts if k not in kinds):
        out.append(f"  {counts[key]:>9,}  {key}")
    gross = sum(o.total_minor for o in plan.orders)
    refunded = sum(r.amount_minor for i in plan.invoices for r in i.refunds)
    out.append(
        f"revenue (sales invoices): £{gross / 100:,.2f}; refunded: £{refunded / 100:,.2f}; "
        f"net: £{(gross - refunded) / 100:,.2f}"
    )
    if result is not None:
        out.append("written this run:")
        for key in sorted(result.written):
            out.append(f"  {result.written[key]:>9,}  {key}")
        out.append(f"time: {result.seconds:.1f} s ({plan.rows / max(result.seconds, 1e-9):,.0f} lines/s)")
    return out


def print_summary(plan: ImportPlan, result: ImportResult | None = None, stream: TextIO = sys.stdout) -> None:
    for line in summary_lines(plan, result):
        print(line, file=stream)


def write_rejects(plan: ImportPlan, path: str | Path) -> int:
    """The lines not taken, each with its line number and the reason, as CSV."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "line",
                "reason",
                "InvoiceNo",
                "StockCode",
                "Description",
                "Quantity",
                "InvoiceDate",
                "UnitPrice",
                "CustomerID",
                "Country",
            ]
        )
        for reject in plan.rejects:
            row = reject.row.row
            writer.writerow(
                [
                    reject.line,
                    reject.reason,
                    row.invoice,
                    row.code,
                    row.description,
                    row.quantity,
                    row.at.strftime("%Y-%m-%d %H:%M:%S"),
                    row.price,
                    row.customer or "",
                    row.country,
                ]
            )
    return len(plan.rejects)


class ProgressBar:
    """A text progress bar on stderr; on a non-terminal, a line every tenth."""

    def __init__(self, label: str, stream: TextIO = sys.stderr, width: int = 40) -> None:
        self.label = label
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self.last_tenth = -1

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        if self.tty:
            filled = int(share * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {done:,}/{total:,} invoices")
            if done >= total:
                self.stream.write("\n")
        else:
            tenth = int(share * 10)
            if tenth != self.last_tenth:
                self.last_tenth = tenth
                self.stream.write(f"{self.label}: {done:,}/{total:,} invoices ({share:.0%})\n")
        self.stream.flush()
