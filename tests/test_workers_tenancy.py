"""Teaches tests/test_tenancy.py to make the campaign, fiscal and dropship objects, and checks the
public endpoints keep accounts apart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from models.campaigns import Campaign
from models.catalog import PriceType
from models.fiscal import Receipt
from models.inventory import Warehouse
from models.orders import Order, SalesChannel
from models.purchasing import DropshipOrder
from tests.conftest import Company


async def worker_objects(company: Company, objects: dict[str, str]) -> dict[str, str]:
    account_id = uuid.UUID(company.account_id)
    campaign = await Campaign.create(
        id=uuid.uuid4(), account_id=account_id, name="t", channel="EMAIL", subject="s", body="b"
    )
    order = {"id": str(await _bare_order(account_id, objects["customer"]))}
    dropship = await DropshipOrder.create(
        id=uuid.uuid4(), account_id=account_id, order_id=order["id"], supplier_id=objects["supplier"]
    )
    receipt = await Receipt.create(
        id=uuid.uuid4(),
        account_id=account_id,
        payment_id=uuid.uuid4(),
        order_id=order["id"],
        kind="sell",
        status="FAILED",
        total_minor=100,
        currency="RUB",
        customer_email="a@example.com",
    )
    made = {
        "campaign": str(campaign.id),
        "receipt": str(receipt.id),
        "fiscalReceipt": str(receipt.id),
        "dropshipOrder": str(dropship.id),
    }
    if "order" not in objects:
        made["order"] = order["id"]
    return made


async def test_another_accounts_campaigns_receipts_and_dropship_orders_stay_out_of_sight(
    company, other_company
):
    customer = await company.api.mutate(
        "createCustomer",
        'mutation { createCustomer(input: {name: "C"}) { customer { id } userErrors { code } } }',
    )
    await worker_objects(
        company, {"supplier": await _supplier(company), "customer": customer["customer"]["id"]}
    )
    seen = await other_company.api.ok(
        "{ campaigns { totalCount } fiscalReceipts { totalCount } dropshipOrders { totalCount } }"
    )
    assert seen == {
        "campaigns": {"totalCount": 0},
        "fiscalReceipts": {"totalCount": 0},
        "dropshipOrders": {"totalCount": 0},
    }


async def _supplier(company: Company) -> str:
    made = await company.api.mutate(
        "createSupplier",
        'mutation { createSupplier(input: {name: "S"}) { supplier { id } userErrors { code } } }',
    )
    return made["supplier"]["id"]


async def _bare_order(account_id: uuid.UUID, customer_id: str) -> uuid.UUID:
    """An order written directly (the order services have their own makers and their own shop)."""
    warehouse = await Warehouse.create(
        id=uuid.uuid4(), account_id=account_id, name=f"W-{uuid.uuid4().hex[:6]}"
    )
    price_type = await PriceType.filter(account_id=account_id).first()
    channel = await SalesChannel.create(
        id=uuid.uuid4(),
        account_id=account_id,
        name=f"C-{uuid.uuid4().hex[:6]}",
        kind="OTHER",
        warehouse_id=warehouse.id,
        price_type_id=price_type.id,
    )
    order = await Order.create(
        id=uuid.uuid4(),
        account_id=account_id,
        channel_id=channel.id,
        customer_id=customer_id,
        content_hash="x",
        confirm_deadline=datetime.now(UTC),
        total_minor=100,
    )
    return order.id
