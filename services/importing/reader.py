"""Reading the Online Retail file: gzip (or plain) CSV, checked line by line.

Everything about the file's *shape* is checked here, before anything is written: the header
names every column, each line has eight fields, the quantity is a whole number, the price a
decimal, the time in a known format, the customer a number. The first line that breaks a rule
stops the import with `ImportFileError`, which names the line (the header is line 1). A gzip
cut short is reported at the line where the data ends. What the *content* means (a sale, a
return, a write-off...) is decided later, in `classify.py`.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
# `YYYY-MM-DD HH:MM:SS` (this copy), `YYYY-MM-DD HH:MM`, and `M/D/YYYY H:MM` (the UCI spreadsheet
# exported to CSV, as many copies of the data set are).
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M")
_INVOICE = re.compile(r"^[A-Za-z]?\d{1,12}$")
_CUSTOMER = re.compile(r"^(\d{1,12})(?:\.0+)?$")  # "17850", or "17850.0" from a float column
MAX_TEXT = 500


class ImportFileError(Exception):
    """The file cannot be imported as it is. `line` is the 1-based line number in the file."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One line of the file, with its values parsed. `customer` is None for a guest line."""

    line: int
    invoice: str
    code: str
    description: str
    quantity: int
    at: datetime  # naive: local time of the retailer
    price: Decimal
    customer: str | None
    country: str

    def key(self) -> tuple:
        """What makes two lines the same line: every value, not the line number."""
        return (
            self.invoice,
            self.code,
            self.description,
            self.quantity,
            self.at,
            self.price,
            self.customer,
            self.country,
        )


def _open_text(path: Path) -> io.TextIOBase:
    with path.open("rb") as probe:
        magic = probe.read(2)
    raw = gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


class _Dates:
    """Parses times, remembering each text seen: an invoice repeats its time on every line."""

    def __init__(self) -> None:
        self.seen: dict[str, datetime] = {}

    def parse(self, text: str, line: int) -> datetime:
        found = self.seen.get(text)
        if found is not None:
            return found
        for fmt in DATE_FORMATS:
            try:
                found = datetime.strptime(text.strip(), fmt)
                break
            except ValueError:
                continue
        else:
            raise ImportFileError(
                line,
                f"InvoiceDate {text[:40]!r} is not in a known format "
                "(YYYY-MM-DD HH:MM:SS, YYYY-MM-DD HH:MM or M/D/YYYY H:MM)",
            )
        self.seen[text] = found
        return found


def _parse(fields: list[str], line: int, dates: _Dates) -> SourceRow:
    if len(fields) != len(COLUMNS):
        raise ImportFileError(line, f"expected {len(COLUMNS)} fields, found {len(fields)}")
    invoice, code, description, quantity, at, price, customer, country = fields
    invoice = invoice.strip()
    if not _INVOICE.match(invoice):
        raise ImportFileError(line, f"InvoiceNo {invoice[:40]!r} is not an invoice number")
    code = code.strip()
    if not code or len(code) > 100:
        raise ImportFileError(line, "StockCode is empty" if not code else "StockCode is too long")
    try:
        qty = int(quantity.strip())
    except ValueError:
        raise ImportFileError(line, f"Quantity {quantity[:40]!r} is not a whole number") from None
    try:
        amount = Decimal(price.strip())
    except InvalidOperation:
        raise ImportFileError(line, f"UnitPrice {price[:40]!r} is not a number") from None
    if not amount.is_finite():
        raise ImportFileError(line, f"UnitPrice {price[:40]!r} is not a number")
    customer = customer.strip()
    customer_id: str | None = None
    if customer:
        matched = _CUSTOMER.match(customer)
        if matched is None:
            raise ImportFileError(line, f"CustomerID {customer[:40]!r} is not a customer number")
        customer_id = matched.group(1)
    return SourceRow(
        line,
        invoice,
        code,
        description.strip()[:MAX_TEXT],
        qty,
        dates.parse(at, line),
        amount,
        customer_id,
        country.strip()[:100],
    )


def read_rows(path: str | Path) -> Iterator[SourceRow]:
    """The file's lines, parsed and checked, in file order; raises ImportFileError at the first bad one."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(0, f"{path} is not a file")
    dates = _Dates()
    line = 1
    try:
        with _open_text(path) as text:
            reader = csv.reader(text)
            header = next(reader, None)
            if header is None:
                raise ImportFileError(1, "the file is empty: expected a header line")
            names = [h.strip() for h in header]
            missing = [c for c in COLUMNS if c not in names]
            if missing:
                raise ImportFileError(
                    1, f"the header has no column {', '.join(missing)} (expected {', '.join(COLUMNS)})"
                )
            order = [names.index(c) for c in COLUMNS]
            identity = order == list(range(len(COLUMNS))) and len(names) == len(COLUMNS)
            for fields in reader:
                line = reader.line_num
                if not fields or fields == [""]:
                    continue
                if not identity:
                    if len(fields) != len(names):
                        raise ImportFileError(line, f"expected {len(names)} fields, found {len(fields)}")
                    fields = [fields[i] for i in order]
                yield _parse(fields, line, dates)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ImportFileError(
            line + 1, f"the compressed file is cut short or damaged after line {line} ({exc})"
        ) from None
    except UnicodeDecodeError as exc:
        raise ImportFileError(line + 1, f"the file is not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise ImportFileError(line + 1, f"the CSV is malformed ({exc})") from None
