"""Reversing a posted stock document: a compensating document with every movement negated."""

from __future__ import annotations

import uuid

from tortoise import timezone
from tortoise.exceptions import IntegrityError

from models.accounts import Account
from models.inventory import StockDocument, StockDocumentLine, StockMovement
from services.access import Actor, Permission
from services.db import get_owned, transaction
from services.errors import InvalidInput, ProblemList
from services.inventory.average_cost import received_by_variant, update_average_costs
from services.inventory.ledger import document_lines, movement
from services.inventory.levels_update import LevelChanges, apply_changes
from services.inventory.live import publish_after_commit
from services.validation import clean_text


async def reverse_document(actor: Actor, document_id: object, comment: str | None = None) -> StockDocument:
    """Posts the compensating document of a posted one: the same kind, every movement negated.

    A document is reversed at most once, and a reversal is not reversed again (post anew).
    Reversing a receipt takes its cost back out of the average where that leaves stock.
    """
    actor.require(Permission.STOCK_WRITE)
    problems = ProblemList()
    comment = clean_text(problems, comment, ["comment"], max_length=2000)
    problems.raise_if_any()
    account = await Account.get(id=actor.account_id)
    original = await get_owned(
        StockDocument, actor, document_id, field=["stockDocumentId"], what="stock document"
    )
    if original.reverses_id is not None:
        raise InvalidInput.one(
            ["stockDocumentId"], "IS_REVERSAL", "a reversal is not reversed: post a new document"
        )
    if await StockDocument.filter(account_id=actor.account_id, reverses_id=original.id).exists():
        raise InvalidInput.one(["stockDocumentId"], "ALREADY_REVERSED", "this document is already reversed")
    lines = await StockDocumentLine.filter(account_id=actor.account_id, document_id=original.id).order_by(
        "position"
    )
    movements = await StockMovement.filter(account_id=actor.account_id, document_id=original.id).order_by(
        "position", "quantity_milli"
    )
    try:
        async with transaction():
            now = timezone.now()
            document = StockDocument(
                id=uuid.uuid4(),
                account_id=actor.account_id,
                kind=original.kind,
                warehouse_id=original.warehouse_id,
                to_warehouse_id=original.to_warehouse_id,
                comment=comment,
                reason=original.reason,
                reference=original.reference,
                author_id=actor.user_id,
                reverses_id=original.id,
                posted_at=now,
            )
            if original.kind == "RECEIPT":
                received = received_by_variant(
                    (m.variant_id, m.quantity_milli, m.unit_cost_minor) for m in movements
                )
                await update_average_costs(actor.account_id, received, reversing=True)
            changes = LevelChanges()
            for m in movements:
                changes.add((m.warehouse_id, m.variant_id), -m.quantity_milli, ["stockDocumentId"])
            await apply_changes(actor.account_id, changes, allow_backorders=account.allow_backorders, now=now)
            await document.save()
            await StockDocumentLine.bulk_create(document_lines(document, lines))
            if movements:
                await StockMovement.bulk_create(
                    [
                        movement(
                            document,
                            m.position,
                            m.warehouse_id,
                            m.variant_id,
                            -m.quantity_milli,
                            m.unit_cost_minor,
                        )
                        for m in movements
                    ]
                )
            publish_after_commit(actor.account_id, changes.pairs())
            return document
    except IntegrityError as exc:
        raise InvalidInput.one(
            ["stockDocumentId"], "ALREADY_REVERSED", "this document is already reversed"
        ) from exc
