"""What the inventory tests share: companies with variants and warehouses, snapshots, invariants.

No tests here; the other tests/test_inventory_*.py import from it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from models.inventory import Reservation, StockDocument, StockLevel, StockMovement, VariantCost
from services import catalog, inventory
from services.access import Actor, Role
from services.catalog import ProductSpec, VariantSpec
from services.inventory import DocumentLineSpec, DocumentSpec, WarehouseInput
from tests.conftest import Company


@dataclass
class Stockroom:
    """A company with its owner as an Actor, some variants by sku and one own warehouse."""

    company: Company
    actor: Actor
    account_id: uuid.UUID
    variants: dict[str, uuid.UUID]
    warehouse_id: uuid.UUID


def owner(company: Company) -> Actor:
    return Actor.for_user(uuid.UUID(company.account_id), uuid.UUID(company.user_id), Role.OWNER)


async def add_variants(
    actor: Actor, skus: list[str], *, unit: str = "PCS", article: str | None = None
) -> dict:
    spec = ProductSpec(
        article=article or f"ART-{uuid.uuid4().hex[:8]}",
        name="Thing",
        unit=unit,
        variants=[VariantSpec(sku=s) for s in skus],
    )
    await catalog.upsert_products(actor, [spec])
    variants = await catalog.Variant.filter(account_id=actor.account_id, sku__in=skus)
    return {v.sku: v.id for v in variants}


async def add_warehouse(
    actor: Actor, name: str | None = None, kind: str = "OWN", supplier_id=None
) -> uuid.UUID:
    warehouse = await inventory.create_warehouse(
        actor, WarehouseInput(name=name or f"W-{uuid.uuid4().hex[:6]}", kind=kind, supplier_id=supplier_id)
    )
    return warehouse.id


async def stockroom(company: Company, skus: tuple[str, ...] = ("A", "B"), unit: str = "PCS") -> Stockroom:
    actor = owner(company)
    variants = await add_variants(actor, list(skus), unit=unit)
    warehouse_id = await add_warehouse(actor, "Main")
    return Stockroom(company, actor, actor.account_id, variants, warehouse_id)


async def receive(
    actor: Actor, warehouse_id: uuid.UUID, quantities: dict[uuid.UUID, str | int], cost: str = "10.00"
) -> StockDocument:
    lines = [DocumentLineSpec(variant_id=v, quantity=str(q), unit_cost=cost) for v, q in quantities.items()]
    return await inventory.post_document(
        actor, DocumentSpec(kind="RECEIPT", warehouse_id=warehouse_id, lines=lines)
    )


async def level(
    account_id: uuid.UUID, warehouse_id: uuid.UUID, variant_id: uuid.UUID
) -> tuple[int, int, int]:
    """(on hand, reserved, incoming) in thousandths; zeros when nothing was ever kept."""
    row = await StockLevel.filter(
        account_id=account_id, warehouse_id=warehouse_id, variant_id=variant_id
    ).first()
    if row is None:
        return (0, 0, 0)
    return (row.on_hand_milli, row.reserved_milli, row.incoming_milli)


async def snapshot(account_id: uuid.UUID) -> dict:
    """Everything stock-related an account has: a failed call must leave this exactly as it was."""
    levels = (
        await StockLevel.filter(account_id=account_id)
        .order_by("id")
        .values_list("warehouse_id", "variant_id", "on_hand_milli", "reserved_milli", "incoming_milli")
    )
    movements = (
        await StockMovement.filter(account_id=account_id).order_by("id").values_list("id", "quantity_milli")
    )
    reservations = (
        await Reservation.filter(account_id=account_id)
        .order_by("id")
        .values_list("order_line_id", "status", "quantity_milli")
    )
    documents = await StockDocument.filter(account_id=account_id).count()
    costs = (
        await VariantCost.filter(account_id=account_id)
        .order_by("id")
        .values_list("variant_id", "unit_cost_minor")
    )
    return {
        "levels": levels,
        "movements": movements,
        "reservations": reservations,
        "documents": documents,
        "costs": costs,
    }


async def assert_invariants(account_id: uuid.UUID, *, backorders: bool = False) -> None:
    """On hand = sum of the ledger, reserved = sum of open reservations, free ≥ 0 without backorders."""
    ledger: dict[tuple, int] = defaultdict(int)
    for w, v, q in await StockMovement.filter(account_id=account_id).values_list(
        "warehouse_id", "variant_id", "quantity_milli"
    ):
        ledger[(w, v)] += q
    held: dict[tuple, int] = defaultdict(int)
    for w, v, q in await Reservation.filter(account_id=account_id, status="OPEN").values_list(
        "warehouse_id", "variant_id", "quantity_milli"
    ):
        held[(w, v)] += q
    levels = await StockLevel.filter(account_id=account_id).values_list(
        "warehouse_id", "variant_id", "on_hand_milli", "reserved_milli"
    )
    seen = set()
    for w, v, on_hand, reserved in levels:
        seen.add((w, v))
        assert on_hand == ledger.get((w, v), 0), ("on hand differs from the ledger", w, v, on_hand)
        assert reserved == held.get((w, v), 0), ("reserved differs from open reservations", w, v, reserved)
        if not backorders:
            assert on_hand - reserved >= 0, ("negative free stock", w, v, on_hand, reserved)
    assert not {k for k, q in ledger.items() if q} - seen, "ledger entries without a level"
    assert not {k for k, q in held.items() if q} - seen, "reservations without a level"


# --- over GraphQL --------------------------------------------------------------------------------

ERRORS = "userErrors { field code message }"
LEVEL_FIELDS = "id onHand reserved incoming available freeNow variant { id sku } warehouse { id name kind }"
DOCUMENT_FIELDS = """id kind comment reason reference postedAt warehouse { id } toWarehouse { id }
  author { id email } reverses { id } reversedBy { id }
  lines { position quantity unitCost variant { sku } }
  movements { quantity unitCost warehouse { id } variant { sku } }"""

CREATE_WAREHOUSE = f"""mutation($input: CreateWarehouseInput!) {{ createWarehouse(input: $input) {{
  warehouse {{ id name kind archived supplier {{ id name }} }} {ERRORS} }} }}"""
POST = f"""mutation($input: PostStockDocumentInput!) {{ postStockDocument(input: $input) {{
  document {{ {DOCUMENT_FIELDS} }} {ERRORS} }} }}"""
REVERSE = f"""mutation($input: ReverseStockDocumentInput!) {{ reverseStockDocument(input: $input) {{
  document {{ {DOCUMENT_FIELDS} }} {ERRORS} }} }}"""
LEVELS = f"""query($filter: StockLevelFilterInput, $first: Int, $after: String) {{
  stockLevels(filter: $filter, first: $first, after: $after) {{
    nodes {{ {LEVEL_FIELDS} }} totalCount pageInfo {{ hasNextPage endCursor }} }} }}"""


async def gql_warehouse(
    company: Company, name: str, kind: str = "OWN", supplier_id: str | None = None
) -> str:
    data = {"name": name, "kind": kind}
    if supplier_id:
        data["supplierId"] = supplier_id
    payload = await company.api.mutate("createWarehouse", CREATE_WAREHOUSE, {"input": data})
    return payload["warehouse"]["id"]


async def post(company: Company, **document) -> dict:
    """postStockDocument's payload (user errors included)."""
    return (await company.api.ok(POST, {"input": document}))["postStockDocument"]


async def post_ok(company: Company, **document) -> dict:
    payload = await post(company, **document)
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload["document"]


async def levels(company: Company, **flt) -> dict[tuple[str, str], dict]:
    """Every level matching the filter, by (warehouse name, sku)."""
    nodes = (await company.api.ok(LEVELS, {"filter": flt, "first": 250}))["stockLevels"]["nodes"]
    return {(n["warehouse"]["name"], n["variant"]["sku"]): n for n in nodes}
