"""Small Online Retail files for the import tests, and an API session for the imported account."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

from services.importing.reader import COLUMNS
from tests.conftest import Api

HEADER = list(COLUMNS)
DEMO = Path(__file__).resolve().parents[1] / "demo" / "online_retail_sample.csv.gz"

LOG_IN = """
mutation($input: LogInInput!) { logIn(input: $input) { token userErrors { code message } } }
"""


def write_csv(
    path: Path, rows: list[list[object]], *, header: list[str] | None = None, gz: bool = True
) -> Path:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header or HEADER)
    writer.writerows(rows)
    data = text.getvalue().encode()
    if gz:
        path.write_bytes(gzip.compress(data, mtime=0))
    else:
        path.write_bytes(data)
    return path


async def api_for(api: Api, email: str, password: str) -> Api:
    body = await api.as_(None).ok(LOG_IN, {"input": {"email": email, "password": password}})
    assert body["logIn"]["userErrors"] == [], body
    return api.as_(body["logIn"]["token"])
