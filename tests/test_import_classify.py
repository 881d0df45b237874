"""Classifying and planning Online Retail lines: every line gets a kind and an outcome."""

from __future__ import annotations

from pathlib import Path

from services.importing.classify import RowKind, classify
from services.importing.plan import build_plan
from services.importing.reader import read_rows
from tests.import_helpers import DEMO, write_csv

T = "2011-03-01 10:00:00"
LATER = "2011-03-05 11:00:00"
UK = "United Kingdom"
ROWS = [
    ["540001", "85123a", "", "6", T, "2.55", "17850", UK],  # lower-case code, no description
    ["540001", "85123A", "WHITE HANGING HEART", "6", T, "2.55", "17850", UK],  # same product
    ["540001", "85123A", "WHITE HANGING HEART", "6", T, "2.55", "17850", UK],  # exact duplicate
    ["540001", "POST", "POSTAGE", "1", T, "18.00", "17850", UK],  # service line
    ["540002", "22633", "HAND WARMER", "12", T, "1.85", "", UK],  # guest sale
    ["540002", "22634", "", "2", T, "0", "", UK],  # free line on a priced guest invoice
    ["540003", "22633", "damaged", "-3", T, "0", "", UK],  # write-off
    ["540004", "22635", "found", "5", T, "0", "", UK],  # found stock
    ["C540005", "85123A", "WHITE HANGING HEART", "-4", LATER, "2.55", "17850", UK],  # matched return
    ["C540005", "99999", "NEVER SOLD", "-2", LATER, "3.00", "17850", UK],  # unmatched return
    ["C540005", "D", "Discount", "-1", LATER, "5.00", "17850", UK],  # credit
    ["C540006", "M", "Manual", "-1", LATER, "9.00", "", UK],  # credit without customer: rejected
    ["A540007", "B", "Adjust bad debt", "1", LATER, "-100.00", "", UK],  # bad debt: rejected
    ["540008", "PADS", "PADS TO MATCH", "1", LATER, "0.001", "13952", UK],  # rounded to £0.00
    ["540009", "22636", "TIN", "-1", LATER, "1.00", "12346", UK],  # negative sale: rejected
]


def _plan(tmp_path: Path):
    lines = classify(read_rows(write_csv(tmp_path / "f.csv.gz", ROWS)))
    return lines, build_plan(lines)


def test_every_line_gets_the_kind_its_shape_says(tmp_path: Path) -> None:
    lines, _ = _plan(tmp_path)
    assert [line.kind for line in lines] == [
        RowKind.SALE,
        RowKind.SALE,
        RowKind.SALE,
        RowKind.SERVICE,
        RowKind.GUEST_SALE,
        RowKind.GUEST_SALE,
        RowKind.WRITE_OFF,
        RowKind.FOUND,
        RowKind.RETURN,
        RowKind.RETURN,
        RowKind.CREDIT,
        RowKind.CREDIT,
        RowKind.BAD_DEBT,
        RowKind.SERVICE,
        RowKind.INVALID,
    ]
    assert [line.duplicate for line in lines][:3] == [False, False, True]


def test_codes_differing_in_case_are_one_product_named_by_the_first_description(tmp_path: Path) -> None:
    _, plan = _plan(tmp_path)
    product = plan.products["85123A"]
    assert product.display_name == "WHITE HANGING HEART" and product.raw_codes == {"85123a", "85123A"}
    assert plan.products["POST"].is_service and not product.is_service
    # a write-off note is not a name: "damaged" names 22633 only if nothing better exists
    assert plan.products["22633"].display_name == "HAND WARMER"
    assert plan.products["22635"].display_name == "found"


def test_duplicates_stay_lines_of_their_own_and_prices_round_to_the_penny(tmp_path: Path) -> None:
    _, plan = _plan(tmp_path)
    order = next(i for i in plan.invoices if i.number == "540001")
    assert [(line.code, line.quantity) for line in order.order_lines] == [
        ("85123A", 6),
        ("85123A", 6),
        ("85123A", 6),
        ("POST", 1),
    ]
    assert order.total_minor == 3 * 6 * 255 + 1800
    pads = next(i for i in plan.invoices if i.number == "540008")
    assert pads.total_minor == 0 and plan.counts["lines whose price was rounded to the penny"] == 1


def test_returns_match_earlier_sales_and_the_rest_is_kept_and_reported(tmp_path: Path) -> None:
    _, plan = _plan(tmp_path)
    credit_note = next(i for i in plan.invoices if i.number == "C540005")
    matched, unmatched = credit_note.returns
    assert (matched.code, matched.quantity, matched.matched_invoices, matched.unmatched) == (
        "85123A",
        4,
        ["540001"],
        0,
    )
    assert (unmatched.code, unmatched.unmatched, unmatched.matched_invoices) == ("99999", 2, [])
    assert [(r.invoice, r.amount_minor) for r in credit_note.refunds] == [
        ("540001", 4 * 255),
        ("540001", 500),
    ]
    reasons = {r.row.row.invoice: r.reason for r in plan.rejects}
    assert set(reasons) == {"C540006", "A540007", "540009"}
    assert "no order to refund" in reasons["C540006"] and "bad-debt" in reasons["A540007"]


def test_every_line_is_counted_once_by_kind(tmp_path: Path) -> None:
    _, plan = _plan(tmp_path)
    by_kind = sum(v for k, v in plan.counts.items() if k.removeprefix("lines ") in RowKind.__members__)
    assert by_kind == len(ROWS) == plan.rows


def test_the_demo_slice_plans_whole_invoices_with_every_kind() -> None:
    plan = build_plan(classify(read_rows(DEMO)))
    assert plan.rows == 4754
    assert plan.counts["lines SALE"] > 4000 and plan.counts["lines RETURN"] > 50
    assert plan.counts["lines WRITE_OFF"] > 0 and plan.counts["lines GUEST_SALE"] > 0
    assert plan.counts["exact duplicate lines (kept as lines of their own)"] > 0
    numbers = [i.number for i in plan.invoices]
    assert len(numbers) == len(set(numbers))
