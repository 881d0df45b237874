"""What the order tests share: a shop with products, stock and a sales channel, and GraphQL calls.

No tests here; the other tests/test_orders_*.py import from it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from models.events import Event
from models.orders import Order
from services.access import Actor
from tests.conftest import Api, Company
from tests.test_accounts import add_token, add_user
from tests.test_inventory_helpers import add_variants, add_warehouse, level, owner, receive

ERRORS = "userErrors { field code message }"
ORDER_FIELDS = """id number externalId status paymentStatus total paid refunded due confirmDeadline
  confirmedAt overdue comment delivery { method address } channel { id name kind }
  customer { id name emails phones }
  manager { id email } lines { variant { id sku } quantity price total }
  events { type at actor { id } fromStatus toStatus manager { id } amount comment }
  payments { id kind method amount refunded }"""

CREATE_CHANNEL = f"""mutation($input: CreateSalesChannelInput!) {{ createSalesChannel(input: $input) {{
  salesChannel {{ id name kind warehouseId priceType {{ code }} }} {ERRORS} }} }}"""
PLACE = f"""mutation($input: PlaceOrderInput!) {{ placeOrder(input: $input) {{
  order {{ {ORDER_FIELDS} }} {ERRORS} }} }}"""
SET_STATUS = f"""mutation($input: SetOrderStatusInput!) {{ setOrderStatus(input: $input) {{
  order {{ id number status confirmedAt events {{ type fromStatus toStatus actor {{ id }} }} }}
  {ERRORS} }} }}"""
ASSIGN = f"""mutation($input: AssignOrderInput!) {{ assignOrder(input: $input) {{
  order {{ id manager {{ id }} events {{ type manager {{ id }} }} }} {ERRORS} }} }}"""
COMMENT = f"""mutation($input: AddOrderCommentInput!) {{ addOrderComment(input: $input) {{
  order {{ id events {{ type comment actor {{ id }} }} }} {ERRORS} }} }}"""
SHIFT = f"""mutation($input: SetManagerShiftInput!) {{ setManagerShift(input: $input) {{
  user {{ id role }} {ERRORS} }} }}"""
SETTINGS = f"""mutation($input: UpdateOrderSettingsInput!) {{ updateOrderSettings(input: $input) {{
  settings {{ confirmationMinutes assignmentStrategy }} {ERRORS} }} }}"""
PAY = f"""mutation($input: RegisterPaymentInput!) {{ registerPayment(input: $input) {{
  payment {{ id kind method amount refunded }} order {{ id paymentStatus total paid due }} {ERRORS} }} }}"""
REFUND = f"""mutation($input: RefundPaymentInput!) {{ refundPayment(input: $input) {{
  refund {{ id kind amount refundOf {{ id }} }} payment {{ id refunded }} order {{ id paymentStatus paid }}
  {ERRORS} }} }}"""
ORDER = f"query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"


@dataclass
class Shop:
    """A company selling "A", "B", "C" (and the weighed "KG") from one warehouse through one channel."""

    company: Company
    actor: Actor
    account_id: uuid.UUID
    warehouse_id: uuid.UUID
    channel_id: str
    variants: dict[str, uuid.UUID]

    @property
    def api(self) -> Api:
        return self.company.api

    async def level(self, sku: str) -> tuple[int, int, int]:
        """(on hand, reserved, incoming) of a sku in the shop's warehouse, in thousandths."""
        return await level(self.account_id, self.warehouse_id, self.variants[sku])


PRICES = {"A": "100.00", "B": "250.50", "C": "9.99", "KG": "80.00"}


async def open_shop(company: Company, stock: dict[str, int] | None = None, **channel: object) -> Shop:
    actor = owner(company)
    article = f"ART-{uuid.uuid4().hex[:6]}"
    variants = await add_variants(actor, ["A", "B", "C"], article=article)
    variants.update(await add_variants(actor, ["KG"], unit="KG", article=article + "-KG"))
    await company.api.mutate(
        "upsertProducts",
        "mutation($input: UpsertProductsInput!) { upsertProducts(input: $input) { userErrors { code } } }",
        {
            "input": {
                "products": [
                    {
                        "article": article,
                        "name": "Thing",
                        "variants": [
                            {"sku": s, "prices": [{"priceType": "RETAIL", "amount": PRICES[s]}]}
                            for s in ("A", "B", "C")
                        ],
                    },
                    {
                        "article": article + "-KG",
                        "name": "Cheese",
                        "unit": "KG",
                        "variants": [{"sku": "KG", "prices": [{"priceType": "RETAIL", "amount": "80.00"}]}],
                    },
                ]
            }
        },
    )
    warehouse_id = await add_warehouse(actor, "Main")
    wanted = {"A": 10, "B": 10, "C": 10, "KG": 5} if stock is None else stock
    if any(wanted.values()):
        await receive(actor, warehouse_id, {variants[s]: q for s, q in wanted.items() if q})
    created = await company.api.mutate(
        "createSalesChannel",
        CREATE_CHANNEL,
        {"input": {"name": "Web", "kind": "WEB_STORE", "warehouseId": str(warehouse_id), **channel}},
    )
    return Shop(company, actor, actor.account_id, warehouse_id, created["salesChannel"]["id"], variants)


def order_input(
    shop: Shop,
    lines: list[tuple[str, int | str]] | None = None,
    *,
    external_id: str | None = None,
    customer: dict | None = None,
    raw_lines: list[dict] | None = None,
    **extra: object,
) -> dict:
    """A PlaceOrderInput: `lines` as (sku, quantity) pairs, or `raw_lines` as OrderLineInputs."""
    return {
        "channelId": shop.channel_id,
        "externalId": external_id,
        "customer": customer if customer is not None else {"name": "Ann", "email": "ann@example.com"},
        "lines": raw_lines
        if raw_lines is not None
        else [{"sku": sku, "quantity": str(q)} for sku, q in (lines or [("A", 2)])],
        **extra,
    }


async def place(shop: Shop, lines=None, *, api: Api | None = None, **kwargs: object) -> dict:
    """placeOrder's payload (user errors included)."""
    body = await (api or shop.api).ok(PLACE, {"input": order_input(shop, lines, **kwargs)})
    return body["placeOrder"]


async def place_ok(shop: Shop, lines=None, *, api: Api | None = None, **kwargs: object) -> dict:
    """The order of a placeOrder that must succeed."""
    payload = await place(shop, lines, api=api, **kwargs)
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload["order"]


async def set_status(shop: Shop, order_id: str, status: str, *, api: Api | None = None) -> dict:
    body = await (api or shop.api).ok(SET_STATUS, {"input": {"orderId": order_id, "status": status}})
    return body["setOrderStatus"]


async def add_manager(shop: Shop, name: str, *, on_shift: bool = True) -> tuple[Api, str]:
    """A MANAGER of the shop (logged in), put on shift by themselves."""
    company = shop.company
    api = await add_user(
        Company(company.api, company.token, company.account_id, f"{name}-{uuid.uuid4().hex[:8]}", "", ""),
        "MANAGER",
    )
    me = (await api.ok("{ me { id } }"))["me"]["id"]
    if on_shift:
        await api.mutate("setManagerShift", SHIFT, {"input": {"onShift": True}})
    return api, me


async def store_token(shop: Shop, scopes: list[str] | None = None) -> Api:
    return await add_token(shop.company, scopes or ["ORDERS_WRITE", "ORDERS_READ"])


async def order_rows(shop: Shop) -> list[dict]:
    return await Order.filter(account_id=shop.account_id).order_by("number").values()


async def order_events(shop: Shop, type: str | None = None) -> list[Event]:
    """The shop's order events in the event log, in order."""
    query = Event.filter(account_id=shop.account_id, topic="orders")
    if type is not None:
        query = query.filter(type=type)
    return await query.order_by("position")
