"""Exact money and quantities: integers in storage, `Decimal` everywhere else.

Money is stored in minor units of the account's currency (kopecks, pence); quantities
in thousandths of the unit, so goods sold by weight or length work with the same columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from services.errors import InvalidInput

# Currencies whose minor unit is not a hundredth (ISO 4217).
_CURRENCY_EXPONENT = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "TND": 3,
}

# How many decimals of each unit may be sold. Pieces are whole; weight and length to a thousandth.
UNIT_DECIMALS = {"PCS": 0, "SET": 0, "PACK": 0, "PAIR": 0, "KG": 3, "G": 0, "L": 3, "ML": 0, "M": 3, "M2": 3}

QUANTITY_SCALE = 1000
# Big enough for any real price or stock level, small enough for a 64-bit column after multiplying.
MAX_MONEY_MINOR = 10**13
MAX_QUANTITY_MILLI = 10**12


def currency_exponent(currency: str) -> int:
    return _CURRENCY_EXPONENT.get(currency.upper(), 2)


# Beyond this many digits before the point no amount or quantity fits: refused before any arithmetic,
# which would overflow the decimal context ("1e999999") or build huge integers.
_MAX_INTEGER_DIGITS = 30


def _as_decimal(value: Decimal | int | str, field: Sequence[str], what: str) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput.one(field, "INVALID", f"{what} must be a decimal number") from exc
    if not number.is_finite():
        raise InvalidInput.one(field, "INVALID", f"{what} must be a finite number")
    if not number.is_zero() and number.adjusted() >= _MAX_INTEGER_DIGITS:
        raise InvalidInput.one(field, "TOO_LARGE", f"{what} is too large")
    return number


def _scaled_exactly(number: Decimal, places: int) -> int | None:
    """`number` × 10**places as an int, or None if that is not a whole number. Exact: no decimal
    context is involved, so neither many digits ("1.000…001") nor tiny exponents ("1e-1000000000")
    are rounded away."""
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite, checked by _as_decimal
    exponent += places
    if exponent < 0:
        kept, dropped = digits[:exponent], digits[exponent:]
        if len(dropped) < -exponent:  # more places than digits: all of them are dropped
            kept, dropped = (), digits
        if any(dropped):
            return None
        digits, exponent = kept, 0
    whole = int("".join(map(str, digits)) or "0") * 10**exponent
    return -whole if sign else whole


def money_to_minor(
    amount: Decimal | int | str,
    currency: str,
    field: Sequence[str] = ("amount",),
    *,
    allow_negative: bool = False,
) -> int:
    """An amount in the currency's units as an integer of minor units; refuses what does not fit exactly."""
    number = _as_decimal(amount, field, "an amount")
    if number < 0 and not allow_negative:
        raise InvalidInput.one(field, "NEGATIVE", "an amount cannot be negative")
    exponent = currency_exponent(currency)
    minor = _scaled_exactly(number, exponent)
    if minor is None:
        raise InvalidInput.one(
            field, "TOO_MANY_DECIMALS", f"an amount in {currency} has at most {exponent} decimals"
        )
    if abs(minor) >= MAX_MONEY_MINOR:
        raise InvalidInput.one(field, "TOO_LARGE", "the amount is too large")
    return minor


def minor_to_money(minor: int, currency: str) -> Decimal:
    exponent = currency_exponent(currency)
    return Decimal(minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def unit_decimals(unit: str) -> int:
    return UNIT_DECIMALS.get(unit, 0)


def quantity_to_milli(
    quantity: Decimal | int | str,
    unit: str,
    field: Sequence[str] = ("quantity",),
    *,
    allow_zero: bool = False,
    allow_negative: bool = False,
) -> int:
    """A quantity of `unit` as thousandths; pieces must be whole, nothing finer than a thousandth."""
    number = _as_decimal(quantity, field, "a quantity")
    if number == 0 and not allow_zero:
        raise InvalidInput.one(field, "ZERO", "a quantity must not be zero")
    if number < 0 and not allow_negative:
        raise InvalidInput.one(field, "NEGATIVE", "a quantity must be positive")
    decimals = unit_decimals(unit)
    if _scaled_exactly(number, decimals) is None:
        if decimals == 0:
            message = f"a quantity in {unit} must be a whole number"
        else:
            message = f"a quantity in {unit} has at most {decimals} decimals"
        raise InvalidInput.one(field, "TOO_MANY_DECIMALS", message)
    milli = _scaled_exactly(number, 3)
    assert milli is not None  # whole in thousandths: checked above (no unit has more decimals)
    if abs(milli) >= MAX_QUANTITY_MILLI:
        raise InvalidInput.one(field, "TOO_LARGE", "the quantity is too large")
    return milli


def milli_to_quantity(milli: int, unit: str = "KG") -> Decimal:
    decimals = unit_decimals(unit)
    return (Decimal(milli) / QUANTITY_SCALE).quantize(Decimal(1).scaleb(-decimals))
