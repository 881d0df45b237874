"""Receipt lines exact to the kopeck: price × quantity rounded once per line, a discount spread so
the total equals the payment exactly, VAT per line, names cut to 128 characters."""

from __future__ import annotations

import random

import pytest

from services.errors import InvalidInput
from services.fiscal import SourceLine, build_items, line_sum, spread, trim_name, vat_of


def test_a_line_sum_is_price_times_quantity_rounded_once_half_up():
    assert line_sum(3333, 1000) == 3333  # 33.33 × 1
    assert (
        line_sum(999, 1500) == 1499
    )  # 9.99 × 1.5 = 14.985 → 14.99 (rounding the unit price first would say 14.99 too)
    assert line_sum(1, 500) == 1  # 0.01 × 0.5 = 0.005 → 0.01
    assert line_sum(1, 499) == 0
    assert line_sum(8000, 333) == 2664  # 80.00 × 0.333 kg = 26.64


def test_a_discount_is_spread_in_proportion_and_the_total_equals_the_payment():
    assert spread([10000, 5000, 5000], 18000) == [9000, 4500, 4500]
    # 1 kopeck over three equal lines goes to the first: the sums still add up exactly
    assert spread([100, 100, 100], 299) == [99, 100, 100]
    assert spread([333, 333, 334], 1000) == [333, 333, 334]
    with pytest.raises(InvalidInput):
        spread([100], 101)


def test_random_orders_always_add_up_to_the_payment_exactly():
    rng = random.Random(54)
    for _ in range(2000):
        lines = [
            SourceLine(f"item {n}", rng.randint(1, 10**6), rng.choice([1000, 2000, 333, 1500, 7]), "vat20")
            for n in range(rng.randint(1, 8))
        ]
        full = sum(line_sum(x.price_minor, x.quantity_milli) for x in lines)
        if full == 0:
            continue
        amount = rng.randint(1, full)
        items = build_items(lines, amount, "full_prepayment")
        assert sum(i.sum_minor for i in items) == amount
        for item in items:
            assert 0 < item.sum_minor <= line_sum(item.price_minor, item.quantity_milli)
            assert item.vat_minor == vat_of(item.sum_minor, "vat20")


def test_vat_is_computed_per_line_from_its_own_sum():
    items = build_items(
        [
            SourceLine("a", 1000, 1000, "vat20"),
            SourceLine("b", 1000, 1000, "vat10"),
            SourceLine("c", 999, 1000, "none"),
        ],
        2999,
        "full_payment",
    )
    assert [(i.sum_minor, i.vat_minor) for i in items] == [(1000, 167), (1000, 91), (999, 0)]


def test_a_name_over_128_characters_is_cut_never_refused():
    long = "Very long product name " * 10
    assert len(trim_name(long)) == 128 and long.startswith(trim_name(long))
    [item] = build_items([SourceLine(long, 100, 1000)], 100, "full_payment")
    assert len(item.name) <= 128
