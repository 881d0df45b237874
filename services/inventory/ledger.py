"""The ledger's rows: a document's lines and movements, built for bulk insert.

Movements are the truth and never change; a correction is a new (reversing) document.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from models.inventory import Reservation, StockDocument, StockDocumentLine, StockMovement
from services.inventory.average_cost import average_costs
from services.inventory.specs import ReservationRequest


class _LineLike(Protocol):
    """A line to copy: a checked input line, or a line of the document being reversed."""

    @property
    def position(self) -> int: ...
    @property
    def variant_id(self) -> uuid.UUID: ...
    @property
    def quantity_milli(self) -> int: ...
    @property
    def unit_cost_minor(self) -> int | None: ...


def document_line(
    document: StockDocument, position: int, variant_id: uuid.UUID, quantity: int, cost: int | None
) -> StockDocumentLine:
    return StockDocumentLine(
        id=uuid.uuid4(),
        account_id=document.account_id,
        document_id=document.id,
        position=position,
        variant_id=variant_id,
        quantity_milli=quantity,
        unit_cost_minor=cost,
    )


def document_lines(document: StockDocument, lines: Iterable[_LineLike]) -> list[StockDocumentLine]:
    """Lines of `document` with the positions, variants, quantities and costs of `lines`."""
    return [
        document_line(document, line.position, line.variant_id, line.quantity_milli, line.unit_cost_minor)
        for line in lines
    ]


def movement(
    document: StockDocument,
    position: int,
    warehouse_id: uuid.UUID,
    variant_id: uuid.UUID,
    quantity: int,
    cost: int,
) -> StockMovement:
    return StockMovement(
        id=uuid.uuid4(),
        account_id=document.account_id,
        document_id=document.id,
        position=position,
        warehouse_id=warehouse_id,
        variant_id=variant_id,
        quantity_milli=quantity,
        unit_cost_minor=cost,
        posted_at=document.posted_at,
    )


async def documents_per_warehouse(
    account_id: uuid.UUID,
    kind: str,
    items: Sequence[Reservation] | Sequence[ReservationRequest],
    *,
    sign: int,
    user_id: uuid.UUID | None,
    reference: str,
    now: datetime,
) -> tuple[dict[uuid.UUID, StockDocument], list[StockDocumentLine], list[StockMovement]]:
    """A `kind` document per warehouse of the items (created now, in warehouse order), and its
    lines and movements (quantity × `sign`) at the variants' average cost, not yet inserted."""
    costs = await average_costs(account_id, {item.variant_id for item in items})
    by_warehouse: dict[uuid.UUID, list[Reservation | ReservationRequest]] = defaultdict(list)
    for item in items:
        by_warehouse[item.warehouse_id].append(item)
    documents: dict[uuid.UUID, StockDocument] = {}
    lines: list[StockDocumentLine] = []
    movements: list[StockMovement] = []
    for warehouse_id in sorted(by_warehouse):
        document = documents[warehouse_id] = await StockDocument.create(
            id=uuid.uuid4(),
            account_id=account_id,
            kind=kind,
            warehouse_id=warehouse_id,
            reference=reference[:200],
            author_id=user_id,
            posted_at=now,
        )
        for position, item in enumerate(by_warehouse[warehouse_id]):
            cost = costs.get(item.variant_id, 0)
            lines.append(document_line(document, position, item.variant_id, item.quantity_milli, None))
            movements.append(
                movement(document, position, warehouse_id, item.variant_id, sign * item.quantity_milli, cost)
            )
    return documents, lines, movements
