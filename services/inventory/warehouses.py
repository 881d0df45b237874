"""Warehouses: create, update, archive, get and list them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models.customers import Supplier
from models.inventory import StockLevel, Warehouse
from services.access import Actor, Permission
from services.db import get_owned, transaction
from services.errors import InvalidInput, NotFound, ProblemList
from services.inventory.specs import WarehouseFilter, WarehouseInput
from services.pagination import Page, paginate
from services.validation import clean_text

WAREHOUSE_KINDS = ("OWN", "DELIVERY_SERVICE", "SUPPLIER")


async def _check_kind_and_supplier(
    actor: Actor, problems: ProblemList, kind: str, supplier_id: object | None
) -> uuid.UUID | None:
    supplier = None
    if supplier_id is not None:  # another account's supplier is NOT_FOUND, whatever the kind
        try:
            supplier = (
                await get_owned(Supplier, actor, supplier_id, field=["supplierId"], what="supplier")
            ).id
        except NotFound as exc:
            problems.problems.extend(exc.problems)
            return None
    if kind not in WAREHOUSE_KINDS:
        problems.add(["kind"], "INVALID", f"kind is one of {', '.join(WAREHOUSE_KINDS)}")
    elif kind != "SUPPLIER" and supplier is not None:
        problems.add(["supplierId"], "INVALID", "only a SUPPLIER warehouse belongs to a supplier")
    elif kind == "SUPPLIER" and supplier is None:
        problems.add(["supplierId"], "REQUIRED", "a SUPPLIER warehouse needs its supplier")
    return supplier if kind == "SUPPLIER" else None


def _duplicate_name(name: object) -> InvalidInput:
    return InvalidInput.one(["name"], "DUPLICATE", f"a warehouse named {name!r} already exists")


async def create_warehouse(actor: Actor, data: WarehouseInput) -> Warehouse:
    actor.require(Permission.STOCK_WRITE)
    problems = ProblemList()
    name = clean_text(problems, data.name, ["name"], max_length=200, required=True)
    kind = (data.kind or "OWN").upper()
    supplier_id = await _check_kind_and_supplier(actor, problems, kind, data.supplier_id)
    problems.raise_if_any()
    try:
        async with transaction():
            return await Warehouse.create(
                id=uuid.uuid4(), account_id=actor.account_id, name=name, kind=kind, supplier_id=supplier_id
            )
    except IntegrityError as exc:
        raise _duplicate_name(name) from exc


async def update_warehouse(actor: Actor, warehouse_id: object, data: WarehouseInput) -> Warehouse:
    actor.require(Permission.STOCK_WRITE)
    warehouse = await get_owned(Warehouse, actor, warehouse_id, field=["id"], what="warehouse")
    problems = ProblemList()
    values: dict[str, object] = {}
    if data.name is not None:
        values["name"] = clean_text(problems, data.name, ["name"], max_length=200, required=True)
    kind = (data.kind or warehouse.kind).upper()
    supplier_raw = data.supplier_id if data.supplier_id is not None else None
    if kind == "SUPPLIER" and supplier_raw is None:
        supplier_raw = warehouse.supplier_id
    values["kind"] = kind
    values["supplier_id"] = await _check_kind_and_supplier(actor, problems, kind, supplier_raw)
    problems.raise_if_any()
    changed = [k for k, v in values.items() if getattr(warehouse, k) != v]
    if not changed:
        return warehouse
    for key in changed:
        setattr(warehouse, key, values[key])
    try:
        async with transaction():
            await warehouse.save(update_fields=[*changed, "updated_at"])
    except IntegrityError as exc:
        raise _duplicate_name(values["name"]) from exc
    return warehouse


async def set_warehouse_archived(actor: Actor, warehouse_id: object, archived: bool) -> Warehouse:
    """Archives (or brings back) a warehouse. One that still holds or owes stock cannot be archived."""
    actor.require(Permission.STOCK_WRITE)
    async with transaction():
        warehouse = await get_owned(
            Warehouse, actor, warehouse_id, field=["id"], what="warehouse", for_update=True
        )
        if warehouse.archived == archived:
            return warehouse
        if archived:
            busy = await StockLevel.filter(
                Q(on_hand_milli__not=0) | Q(reserved_milli__not=0) | Q(incoming_milli__not=0),
                account_id=actor.account_id,
                warehouse_id=warehouse.id,
            ).exists()
            if busy:
                raise InvalidInput.one(
                    ["id"], "NOT_EMPTY", f"{warehouse.name} still holds, owes or expects stock: move it first"
                )
        warehouse.archived = archived
        await warehouse.save(update_fields=["archived", "updated_at"])
    return warehouse


async def get_warehouse(actor: Actor, warehouse_id: object, field: Sequence[str] = ("id",)) -> Warehouse:
    actor.require(Permission.STOCK_READ)
    return await get_owned(Warehouse, actor, warehouse_id, field=field, what="warehouse")


async def list_warehouses(
    actor: Actor, flt: WarehouseFilter, *, first: int | None, after: str | None
) -> Page[Warehouse]:
    actor.require(Permission.STOCK_READ)
    query = Warehouse.filter(account_id=actor.account_id)
    if flt.archived is not None:
        query = query.filter(archived=flt.archived)
    if flt.kinds:
        query = query.filter(kind__in=[k.upper() for k in flt.kinds])
    text = (flt.search or "").strip()
    if text:
        query = query.filter(name__icontains=text)
    return await paginate(query, order_by="name", first=first, after=after)


async def warehouses_by_ids(account_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Warehouse]:
    rows = await Warehouse.filter(account_id=account_id, id__in=list(set(ids)))
    return {row.id: row for row in rows}
