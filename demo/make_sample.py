"""Makes demo/online_retail_sample.csv.gz: whole invoices of the full Online Retail file.

The slice keeps every invoice (sales and cancellations) of a fixed set of customers, so their
returns meet their sales across the whole year, plus a few guest invoices and stock write-offs.
Deterministic: run `python demo/make_sample.py ../shared/data/online_retail.csv.gz` to remake it.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "online_retail_sample.csv.gz"


def _bucket(text: str, modulo: int) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % modulo


def main(source: str) -> None:
    with gzip.open(source, "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    invoices_of_guests = {r[0] for r in body if not r[6] and float(r[5]) > 0}
    keep = []
    for row in body:
        invoice, customer = row[0], row[6]
        if customer:
            take = _bucket(customer, 90) == 0
        elif invoice in invoices_of_guests:
            take = _bucket(invoice, 450) == 0
        else:  # write-offs, found stock, credits and bad debt without a customer
            take = _bucket(invoice, 25) == 0 or invoice.startswith("A")
        if take:
            keep.append(row)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(keep)
    # mtime=0: the same input gives the same bytes
    with gzip.GzipFile(OUT, "wb", mtime=0) as out:
        out.write(text.getvalue().encode())
    print(f"{OUT.name}: {len(keep)} rows, {len({r[0] for r in keep})} invoices")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(HERE.parent.parent / "shared/data/online_retail.csv.gz"))
