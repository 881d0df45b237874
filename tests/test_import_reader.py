"""Reading and checking the Online Retail file: every bad file is refused whole, naming the line."""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path

import pytest

from models.accounts import User
from services.importing.load import import_online_retail
from services.importing.reader import ImportFileError, read_rows
from tests.import_helpers import HEADER, write_csv

GOOD = [
    [
        "536365",
        "85123A",
        "WHITE HANGING HEART T-LIGHT HOLDER",
        "6",
        "2010-12-01 08:26:00",
        "2.55",
        "17850",
        "United Kingdom",
    ],
    ["536365", "71053", "WHITE METAL LANTERN", "6", "2010-12-01 08:26:00", "3.39", "17850", "United Kingdom"],
    ["536366", "22633", "HAND WARMER UNION JACK", "6", "2010-12-01 08:28:00", "1.85", "", "United Kingdom"],
]


def _error(path: Path) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        list(read_rows(path))
    return caught.value


def test_a_good_file_reads_every_line_with_its_number(tmp_path: Path) -> None:
    rows = list(read_rows(write_csv(tmp_path / "ok.csv.gz", GOOD)))
    assert [r.line for r in rows] == [2, 3, 4]
    assert rows[0].quantity == 6 and str(rows[0].price) == "2.55" and rows[0].customer == "17850"
    assert rows[2].customer is None


def test_a_plain_csv_and_the_spreadsheet_date_format_are_read_too(tmp_path: Path) -> None:
    rows = [[*GOOD[0][:4], "12/1/2010 8:26", *GOOD[0][5:]]]
    (row,) = list(read_rows(write_csv(tmp_path / "ok.csv", rows, gz=False)))
    assert row.at.isoformat() == "2010-12-01T08:26:00"


def test_a_missing_column_is_refused_at_the_header(tmp_path: Path) -> None:
    header = [c for c in HEADER if c != "UnitPrice"]
    error = _error(write_csv(tmp_path / "f.csv.gz", [r[:5] + r[6:] for r in GOOD], header=header))
    assert error.line == 1 and "UnitPrice" in error.message


def test_a_non_numeric_quantity_names_its_line(tmp_path: Path) -> None:
    rows = [GOOD[0], GOOD[1][:3] + ["six"] + GOOD[1][4:], GOOD[2]]
    error = _error(write_csv(tmp_path / "f.csv.gz", rows))
    assert error.line == 3 and "Quantity" in error.message and "'six'" in error.message


def test_an_unknown_date_format_names_its_line(tmp_path: Path) -> None:
    rows = [GOOD[0], GOOD[1], GOOD[2][:4] + ["01.12.2010 08:28"] + GOOD[2][5:]]
    error = _error(write_csv(tmp_path / "f.csv.gz", rows))
    assert error.line == 4 and "InvoiceDate" in error.message


def test_a_truncated_gzip_is_refused_naming_where_the_data_ends(tmp_path: Path) -> None:
    full = write_csv(tmp_path / "full.csv.gz", GOOD * 400).read_bytes()
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(full[: len(full) // 2])
    error = _error(cut)
    assert error.line > 1 and ("cut short" in error.message or "expected 8 fields" in error.message)


def test_the_real_file_cut_short_is_refused(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[1] / "demo" / "online_retail_sample.csv.gz"
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(source.read_bytes()[:20000])
    error = _error(cut)
    assert error.line > 100
    assert gzip.decompress(source.read_bytes())  # the shipped slice itself is whole


@pytest.mark.parametrize("fault", ["column", "quantity", "date", "truncated"])
async def test_a_bad_file_imports_nothing_not_even_the_account(db, tmp_path: Path, fault: str) -> None:
    rows = [list(r) for r in GOOD] * 5
    header = None
    if fault == "column":
        header = HEADER[:-1]
        rows = [r[:-1] for r in rows]
    elif fault == "quantity":
        rows[-1][3] = "1O"
    elif fault == "date":
        rows[-1][4] = "2010-13-45 08:26:00"
    path = write_csv(tmp_path / "bad.csv.gz", rows, header=header)
    if fault == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) - 12])
    email = f"import-{uuid.uuid4().hex[:10]}@example.com"
    with pytest.raises(ImportFileError) as caught:
        await import_online_retail(path, email=email, password="correct horse battery")
    assert f"line {caught.value.line}" in str(caught.value)
    assert not await User.filter(email=email).exists()
