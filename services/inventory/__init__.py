"""Stock: warehouses, stock documents and their ledger, stock levels, reservations, average cost.

The movement ledger is the truth and never changes; `StockLevel` rows are its materialised view,
changed in the same transaction as the movements: on hand = sum of movements, reserved = sum of
open reservations. Free now = on hand − reserved; available = on hand − reserved + incoming.

Race-free by construction: every decrease of free stock is one conditional UPDATE
(`... SET reserved = reserved + n WHERE on_hand - reserved >= n`, no row changed → short), and
every transaction touches level rows in one fixed order, sorted by (warehouse_id, variant_id),
so two documents naming the same variants in opposite order wait for each other instead of
deadlocking. Where more than one kind of row is locked the order is: average-cost rows (by
variant), reservation rows (inserted in order-line order, locked in id order), then level rows.

The reservation functions (`reserve_stock`, `release_reservations`, `ship_reservations`,
`return_to_stock`, `free_stock`) take an account id, not an Actor: the orders service calls them
from inside its own transaction (ours becomes a savepoint), having checked the caller already.

Where each rule lives:
- `specs`: the input and filter dataclasses callers pass in (`ReservationRequest`, `DocumentSpec`, …).
- `warehouses`: create, update, archive, get and list warehouses.
- `posting`: `post_document`, checking a document's input and posting it.
- `reversal`: `reverse_document`, the compensating document.
- `documents`: reading documents, their lines, movements and reversals.
- `reservations`: the calls of the orders domain: reserve, release, ship, return, free stock, incoming.
- `levels`: reading stock: levels, totals per variant, on hand at a past moment.
- `levels_update`: applying a document's movements to the levels, in the fixed order.
- `ledger`: building a document's lines and movements (and a document per warehouse).
- `average_cost`: the moving weighted average cost per variant.
- `shortages`: what an INSUFFICIENT_STOCK error says about a level.
- `ownership`: NOT_FOUND checks that warehouses and variants are the account's own.
- `live`: publishing changed levels after commit, and the `stockChanges` feed.
- the raw statements of the reservation hot path go through `services/raw_sql.py`.

Everything other modules use is imported from here: `from services.inventory import X`.
"""

from services.errors import InvalidInput
from services.inventory.documents import (
    get_document,
    lines_of_documents,
    list_documents,
    movements_of_documents,
    reversals_of_documents,
)
from services.inventory.levels import (
    CATALOG_GROUP_SEPARATOR,
    KindStock,
    StockAtMoment,
    StockFigures,
    VariantStock,
    available_milli,
    free_now_milli,
    levels_of_pairs,
    list_stock_levels,
    list_stock_totals,
    stock_as_of,
    units_of_variants,
)
from services.inventory.live import stock_channel, stock_feed
from services.inventory.ownership import MAX_FILTER_IDS
from services.inventory.posting import DOCUMENT_KINDS, MAX_DOCUMENT_LINES, post_document
from services.inventory.reservations import (
    OPEN,
    RELEASED,
    SHIPPED,
    adjust_incoming,
    free_stock,
    release_reservations,
    reserve_stock,
    return_to_stock,
    ship_reservations,
)
from services.inventory.reversal import reverse_document
from services.inventory.specs import (
    DocumentFilter,
    DocumentLineSpec,
    DocumentSpec,
    Pair,
    ReservationRequest,
    StockFilter,
    WarehouseFilter,
    WarehouseInput,
)
from services.inventory.warehouses import (
    WAREHOUSE_KINDS,
    create_warehouse,
    get_warehouse,
    list_warehouses,
    set_warehouse_archived,
    update_warehouse,
    warehouses_by_ids,
)

__all__ = [
    "CATALOG_GROUP_SEPARATOR",
    "DOCUMENT_KINDS",
    "MAX_DOCUMENT_LINES",
    "MAX_FILTER_IDS",
    "OPEN",
    "RELEASED",
    "SHIPPED",
    "WAREHOUSE_KINDS",
    "DocumentFilter",
    "DocumentLineSpec",
    "DocumentSpec",
    "InvalidInput",
    "KindStock",
    "Pair",
    "ReservationRequest",
    "StockAtMoment",
    "StockFigures",
    "StockFilter",
    "VariantStock",
    "WarehouseFilter",
    "WarehouseInput",
    "adjust_incoming",
    "available_milli",
    "create_warehouse",
    "free_now_milli",
    "free_stock",
    "get_document",
    "get_warehouse",
    "levels_of_pairs",
    "lines_of_documents",
    "list_documents",
    "list_stock_levels",
    "list_stock_totals",
    "list_warehouses",
    "movements_of_documents",
    "post_document",
    "release_reservations",
    "reserve_stock",
    "return_to_stock",
    "reversals_of_documents",
    "reverse_document",
    "set_warehouse_archived",
    "ship_reservations",
    "stock_as_of",
    "stock_channel",
    "stock_feed",
    "units_of_variants",
    "update_warehouse",
    "warehouses_by_ids",
]
