"""Posting a stock document: check its input, then write its lines, movements and level changes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise import timezone

from models.accounts import Account
from models.catalog import Variant
from models.inventory import StockDocument, StockDocumentLine, StockMovement, Warehouse
from services.access import Actor, Permission
from services.amounts import money_to_minor, quantity_to_milli
from services.db import get_owned, parse_id, transaction
from services.errors import InvalidInput, NotFound, ProblemList
from services.inventory.average_cost import average_costs, received_by_variant, update_average_costs
from services.inventory.ledger import document_lines, movement
from services.inventory.levels_update import LevelChanges, apply_changes
from services.inventory.live import publish_after_commit
from services.inventory.specs import DocumentLineSpec, DocumentSpec
from services.validation import clean_text

DOCUMENT_KINDS = ("RECEIPT", "SHIPMENT", "TRANSFER", "WRITE_OFF", "COUNT", "RETURN")
MAX_DOCUMENT_LINES = 500


@dataclass
class _CheckedLine:
    position: int
    variant_id: uuid.UUID
    quantity_milli: int
    unit_cost_minor: int | None
    field: tuple[str, ...]


async def _resolve_variants(
    actor: Actor, problems: ProblemList, lines: Sequence[DocumentLineSpec]
) -> dict[int, Variant]:
    """The variant of each line, by id or sku, in two queries; NOT_FOUND for unknown ones."""
    ids: dict[int, uuid.UUID] = {}
    skus: dict[int, str] = {}
    for index, line in enumerate(lines):
        at = ["lines", str(index)]
        has_id = line.variant_id is not None and str(line.variant_id).strip() != ""
        has_sku = bool((line.sku or "").strip())
        if has_id == has_sku:
            problems.add(at, "INVALID", "give a line either variantId or sku")
        elif has_id:
            try:
                ids[index] = parse_id(line.variant_id, [*at, "variantId"], "variant")
            except NotFound as exc:
                problems.problems.extend(exc.problems)
        else:
            skus[index] = (line.sku or "").strip()
    found_by_id = {
        v.id: v
        for v in await Variant.filter(
            account_id=actor.account_id, id__in=list(set(ids.values()))
        ).select_related("product")
    }
    found_by_sku = {
        v.sku: v
        for v in await Variant.filter(
            account_id=actor.account_id, sku__in=list(set(skus.values()))
        ).select_related("product")
    }
    result: dict[int, Variant] = {}
    for index, variant_id in ids.items():
        if variant_id in found_by_id:
            result[index] = found_by_id[variant_id]
        else:
            problems.add(["lines", str(index), "variantId"], "NOT_FOUND", "variant not found")
    for index, sku in skus.items():
        if sku in found_by_sku:
            result[index] = found_by_sku[sku]
        else:
            problems.add(
                ["lines", str(index), "sku"], "NOT_FOUND", f"there is no variant with sku {sku[:100]!r}"
            )
    return result


async def _owned_warehouse(
    actor: Actor, problems: ProblemList, raw_id: object, field_name: str
) -> Warehouse | None:
    try:
        warehouse = await get_owned(Warehouse, actor, raw_id, field=[field_name], what="warehouse")
    except NotFound as exc:
        problems.problems.extend(exc.problems)
        return None
    if warehouse.archived:
        problems.add([field_name], "ARCHIVED", f"{warehouse.name} is archived")
    return warehouse


async def post_document(actor: Actor, spec: DocumentSpec) -> StockDocument:
    """Posts a stock document: its lines, its ledger movements and the level changes, at once."""
    actor.require(Permission.STOCK_WRITE)
    account = await Account.get(id=actor.account_id)
    problems = ProblemList()
    kind = (spec.kind or "").upper()
    if kind not in DOCUMENT_KINDS:
        problems.add(["kind"], "INVALID", f"kind is one of {', '.join(DOCUMENT_KINDS)}")
    comment = clean_text(problems, spec.comment, ["comment"], max_length=2000)
    reason = clean_text(problems, spec.reason, ["reason"], max_length=200, required=kind == "WRITE_OFF")
    warehouse = await _owned_warehouse(actor, problems, spec.warehouse_id, "warehouseId")
    to_warehouse = None
    if kind == "TRANSFER":
        if spec.to_warehouse_id is None:
            problems.add(["toWarehouseId"], "REQUIRED", "a transfer needs the warehouse it goes to")
        else:
            to_warehouse = await _owned_warehouse(actor, problems, spec.to_warehouse_id, "toWarehouseId")
            if warehouse is not None and to_warehouse is not None and to_warehouse.id == warehouse.id:
                problems.add(["toWarehouseId"], "SAME_WAREHOUSE", "a transfer goes to another warehouse")
    elif spec.to_warehouse_id is not None:
        problems.add(["toWarehouseId"], "INVALID", "only a TRANSFER has toWarehouseId")
    if not spec.lines:
        problems.add(["lines"], "REQUIRED", "a document has at least one line")
    elif len(spec.lines) > MAX_DOCUMENT_LINES:
        problems.add(["lines"], "TOO_MANY", f"a document has at most {MAX_DOCUMENT_LINES} lines")
        problems.raise_if_any()
    variants = await _resolve_variants(actor, problems, spec.lines)
    checked: list[_CheckedLine] = []
    counted: dict[uuid.UUID, int] = {}
    for index, line in enumerate(spec.lines):
        at = ("lines", str(index))
        variant = variants.get(index)
        if variant is None:
            continue
        try:
            quantity = quantity_to_milli(
                line.quantity if line.quantity is not None else "",
                variant.product.unit,
                [*at, "quantity"],
                allow_zero=kind == "COUNT",
            )
        except InvalidInput as exc:
            problems.problems.extend(exc.problems)
            continue
        cost = None
        if kind == "RECEIPT":
            if line.unit_cost is None:
                problems.add([*at, "unitCost"], "REQUIRED", "a receipt line needs its unit cost")
            else:
                try:
                    cost = money_to_minor(line.unit_cost, account.currency, [*at, "unitCost"])
                except InvalidInput as exc:
                    problems.problems.extend(exc.problems)
        elif line.unit_cost is not None:
            problems.add([*at, "unitCost"], "INVALID", "only a receipt line has a unit cost")
        if kind == "COUNT":
            if variant.id in counted:
                problems.add(
                    [*at, "variantId"], "DUPLICATE", f"{variant.sku} is counted twice in this document"
                )
            counted[variant.id] = quantity
        checked.append(_CheckedLine(index, variant.id, quantity, cost, at))
    problems.raise_if_any()
    assert warehouse is not None
    async with transaction():
        return await _post(
            actor,
            kind,
            warehouse,
            to_warehouse,
            checked,
            comment=comment,
            reason=reason,
            allow_backorders=account.allow_backorders,
        )


async def _post(
    actor: Actor,
    kind: str,
    warehouse: Warehouse,
    to_warehouse: Warehouse | None,
    lines: Sequence[_CheckedLine],
    *,
    comment: str,
    reason: str,
    allow_backorders: bool,
) -> StockDocument:
    account_id = actor.account_id
    now = timezone.now()
    document = StockDocument(
        id=uuid.uuid4(),
        account_id=account_id,
        kind=kind,
        warehouse_id=warehouse.id,
        to_warehouse_id=to_warehouse.id if to_warehouse else None,
        comment=comment,
        reason=reason,
        author_id=actor.user_id,
        posted_at=now,
    )
    if kind == "RECEIPT":
        received = received_by_variant(
            (line.variant_id, line.quantity_milli, line.unit_cost_minor or 0) for line in lines
        )
        await update_average_costs(account_id, received, reversing=False)
    costs = await average_costs(account_id, {line.variant_id for line in lines})
    changes = LevelChanges()
    for line in lines:
        pair = (warehouse.id, line.variant_id)
        if kind == "COUNT":
            changes.count(pair, line.quantity_milli, [*line.field, "quantity"])
        elif kind in ("RECEIPT", "RETURN"):
            changes.add(pair, line.quantity_milli, [*line.field, "quantity"])
        else:
            changes.add(pair, -line.quantity_milli, [*line.field, "quantity"])
            if kind == "TRANSFER":
                assert to_warehouse is not None
                changes.add(
                    (to_warehouse.id, line.variant_id), line.quantity_milli, [*line.field, "quantity"]
                )
    differences = await apply_changes(account_id, changes, allow_backorders=allow_backorders, now=now)
    await document.save()
    movements: list[StockMovement] = []
    for line in lines:
        cost = line.unit_cost_minor if kind == "RECEIPT" else costs.get(line.variant_id, 0)
        if kind == "COUNT":
            difference = differences.get((warehouse.id, line.variant_id), 0)
            if difference:
                movements.append(
                    movement(document, line.position, warehouse.id, line.variant_id, difference, cost or 0)
                )
        elif kind in ("RECEIPT", "RETURN"):
            movements.append(
                movement(
                    document, line.position, warehouse.id, line.variant_id, line.quantity_milli, cost or 0
                )
            )
        else:
            movements.append(
                movement(
                    document, line.position, warehouse.id, line.variant_id, -line.quantity_milli, cost or 0
                )
            )
            if to_warehouse is not None:
                movements.append(
                    movement(
                        document,
                        line.position,
                        to_warehouse.id,
                        line.variant_id,
                        line.quantity_milli,
                        cost or 0,
                    )
                )
    await StockDocumentLine.bulk_create(document_lines(document, lines))
    if movements:
        await StockMovement.bulk_create(movements)
    publish_after_commit(account_id, changes.pairs())
    return document
