"""Checks of plain input values that every domain shares: lengths, emails, phones."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from services.errors import ProblemList

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def clean_text(
    problems: ProblemList,
    value: str | None,
    field: Sequence[str],
    *,
    max_length: int,
    required: bool = False,
    what: str | None = None,
) -> str:
    """The value trimmed; records a problem when it is required and empty, or longer than allowed."""
    name = what or field[-1]
    if value is not None and not isinstance(value, str):  # from JSON bodies (callbacks, imports)
        problems.add(field, "INVALID", f"{name} must be text")
        return ""
    text = (value or "").strip()
    if "\x00" in text:  # PostgreSQL stores no NUL in text
        problems.add(field, "INVALID_CHARACTERS", f"{name} must not contain the NUL character")
    elif required and not text:
        problems.add(field, "REQUIRED", f"{name} must not be empty")
    elif len(text) > max_length:
        problems.add(field, "TOO_LONG", f"{name} is longer than {max_length} characters")
    return text


def normalise_email(value: str) -> str:
    return value.strip().lower()


def normalise_phone(value: str) -> str:
    """Digits only, with a leading + kept: '+7 (900) 123-45-67' and '+79001234567' are one phone."""
    text = value.strip()
    digits = re.sub(r"\D", "", text)
    return ("+" + digits) if text.startswith("+") else digits


def clean_emails(problems: ProblemList, values: Iterable[str] | None, field: Sequence[str]) -> list[str]:
    result: list[str] = []
    for index, raw in enumerate(values or []):
        email = normalise_email(raw)
        if len(email) > 254 or not _EMAIL.match(email):
            problems.add([*field, str(index)], "INVALID_EMAIL", f"{raw[:60]!r} is not an email address")
        elif email not in result:
            result.append(email)
    return result


def clean_phones(problems: ProblemList, values: Iterable[str] | None, field: Sequence[str]) -> list[str]:
    result: list[str] = []
    for index, raw in enumerate(values or []):
        phone = normalise_phone(raw)
        if not 5 <= len(phone.lstrip("+")) <= 15:
            problems.add([*field, str(index)], "INVALID_PHONE", f"{raw[:40]!r} is not a phone number")
        elif phone not in result:
            result.append(phone)
    return result


def clean_list(
    problems: ProblemList,
    values: Iterable[str] | None,
    field: Sequence[str],
    *,
    max_items: int,
    max_length: int,
) -> list[str]:
    items = [v.strip() for v in (values or []) if v and v.strip()]
    if len(items) > max_items:
        problems.add(field, "TOO_MANY", f"at most {max_items} items")
    for index, item in enumerate(items):
        if len(item) > max_length:
            problems.add([*field, str(index)], "TOO_LONG", f"an item is longer than {max_length} characters")
    return list(dict.fromkeys(items))


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value))
