"""Dropshipping: a confirmed order's supplier-held lines go to the supplier (signed HTTP JSON or
email) by a job; the supplier's answer comes back by a signed callback or a mutation."""

from __future__ import annotations

import json
import uuid

from models.purchasing import DropshipOrder
from services.dropship import sign
from tests.conftest import Company
from tests.fakes.smtp import FakeSmtp
from tests.fakes.supplier import FakeSupplier
from tests.test_inventory_helpers import receive
from tests.test_orders_helpers import CREATE_CHANNEL, SET_STATUS, Shop, open_shop, place_ok
from tests.test_workers_helpers import (
    ERRORS,
    drain,
    in_process_fixture,  # noqa: F401  (a fixture)
    use_smtp,
)

ENDPOINT = f"""mutation($input: SetSupplierEndpointInput!) {{ setSupplierEndpoint(input: $input) {{
  supplierEndpoint {{ id kind url secret callbackPath }} {ERRORS} }} }}"""
ANSWER = f"""mutation($input: AnswerDropshipOrderInput!) {{ answerDropshipOrder(input: $input) {{
  dropshipOrder {{ id status trackingNumber rejectionReason }} {ERRORS} }} }}"""
DROPSHIPS = """query($orderId: ID) { dropshipOrders(orderId: $orderId) { nodes { id status error sendAttempts
  supplierReference trackingNumber rejectionReason deliveryAddress customerName lines { sku quantity }
  supplier { name } } } }"""
ORDER = "query($id: ID!) { order(id: $id) { status manager { id } events { type comment } } }"


async def dropship_shop(company: Company, endpoint: dict) -> tuple[Shop, str, dict]:
    """A shop whose "Supplier" channel sells from a supplier's warehouse; the endpoint as set."""
    shop = await open_shop(company)
    supplier = await company.api.mutate(
        "createSupplier",
        'mutation { createSupplier(input: {name: "Acme"}) { supplier { id } userErrors { code } } }',
    )
    supplier_id = supplier["supplier"]["id"]
    warehouse = await company.api.mutate(
        "createWarehouse",
        """mutation($input: CreateWarehouseInput!) { createWarehouse(input: $input) {
          warehouse { id } userErrors { code message } } }""",
        {"input": {"name": "Acme stock", "kind": "SUPPLIER", "supplierId": supplier_id}},
    )
    warehouse_id = uuid.UUID(warehouse["warehouse"]["id"])
    await receive(shop.actor, warehouse_id, {shop.variants["A"]: 20, shop.variants["B"]: 20})
    channel = await company.api.mutate(
        "createSalesChannel",
        CREATE_CHANNEL,
        {"input": {"name": "Supplier", "kind": "WEB_STORE", "warehouseId": str(warehouse_id)}},
    )
    shop.channel_id = channel["salesChannel"]["id"]
    set_endpoint = await company.api.mutate(
        "setSupplierEndpoint", ENDPOINT, {"input": {"supplierId": supplier_id, **endpoint}}
    )
    return shop, supplier_id, set_endpoint["supplierEndpoint"]


async def confirmed_order(shop: Shop) -> dict:
    order = await place_ok(
        shop,
        [("A", 2), ("B", 1)],
        customer={"name": "Ann", "email": "ann@example.com", "phone": "+79001112233"},
        delivery={"method": "courier", "address": "Moscow, Tverskaya 1"},
    )
    await shop.api.mutate(
        "setOrderStatus", SET_STATUS, {"input": {"orderId": order["id"], "status": "CONFIRMED"}}
    )
    return order


async def dropships(company: Company, order_id: str) -> list[dict]:
    return (await company.api.ok(DROPSHIPS, {"orderId": order_id}))["dropshipOrders"]["nodes"]


async def callback(client, endpoint: dict, body: dict, *, secret: str | None = None):  # noqa: ANN001, ANN201
    raw = json.dumps(body).encode()
    return await client.post(
        endpoint["callbackPath"],
        content=raw,
        headers={"X-Signature": sign(secret or endpoint["secret"], raw)},
    )


async def test_a_confirmed_order_is_sent_to_its_supplier_signed_once_despite_errors(company, in_process):
    async with FakeSupplier() as supplier:
        shop, _, endpoint = await dropship_shop(
            company, {"kind": "HTTP", "url": supplier.url, "secret": supplier.secret}
        )
        supplier.fail_next("500", "drop")
        order = await confirmed_order(shop)
        await drain(in_process)
        [row] = await dropships(company, order["id"])
        assert row["status"] == "SENT" and row["sendAttempts"] == 3 and row["supplierReference"] == "SUP-1"
        assert row["supplier"]["name"] == "Acme" and row["customerName"] == "Ann"
        document = supplier.orders[row["id"]]
        assert document["delivery"] == {"method": "courier", "address": "Moscow, Tverskaya 1"}
        assert document["customer"]["phone"] == "+79001112233"
        assert [(x["sku"], x["quantity"]) for x in document["lines"]] == [("A", "2.0"), ("B", "1.0")]
        assert len(supplier.orders) == 1 and supplier.bad_signatures == 0
        assert endpoint["callbackPath"] == f"/dropship/callback/{endpoint['id']}"


async def test_signed_callbacks_move_the_order_on_and_a_duplicate_changes_nothing(
    company, client, in_process
):
    async with FakeSupplier() as supplier:
        shop, _, endpoint = await dropship_shop(company, {"kind": "HTTP", "url": supplier.url})
        supplier.secret = endpoint["secret"]  # made by the back office, given to the supplier
        order = await confirmed_order(shop)
        await drain(in_process)
        [row] = await dropships(company, order["id"])
        assert row["status"] == "SENT"
        accepted = await callback(
            client, endpoint, {"id": row["id"], "status": "ACCEPTED", "reference": "R-9"}
        )
        assert accepted.status_code == 200 and accepted.json()["status"] == "ACCEPTED"
        again = await callback(client, endpoint, {"id": row["id"], "status": "ACCEPTED"})
        assert again.status_code == 200
        shipped = await callback(
            client, endpoint, {"id": row["id"], "status": "SHIPPED", "tracking_number": "TRK1"}
        )
        assert shipped.status_code == 200
        await callback(client, endpoint, {"id": row["id"], "status": "SHIPPED", "tracking_number": "TRK1"})
        [row] = await dropships(company, order["id"])
        assert (
            row["status"] == "SHIPPED"
            and row["trackingNumber"] == "TRK1"
            and row["supplierReference"] == "R-9"
        )
        seen = (await company.api.ok(ORDER, {"id": order["id"]}))["order"]
        assert seen["status"] == "SHIPPED"
        comments = [e["comment"] for e in seen["events"] if e["type"] == "COMMENTED"]
        assert len(comments) == 2 and "accepted by Acme" in comments[0] and "TRK1" in comments[1]
        late = await callback(client, endpoint, {"id": row["id"], "status": "REJECTED", "reason": "too late"})
        assert late.status_code == 422


async def test_a_rejection_goes_back_to_the_orders_manager_with_an_event(company, in_process):
    async with FakeSupplier() as supplier:
        shop, _, _ = await dropship_shop(
            company, {"kind": "HTTP", "url": supplier.url, "secret": supplier.secret}
        )
        order = await confirmed_order(shop)
        await drain(in_process)
        [row] = await dropships(company, order["id"])
        answered = await company.api.mutate(
            "answerDropshipOrder",
            ANSWER,
            {"input": {"dropshipOrderId": row["id"], "status": "REJECTED", "reason": "out of stock"}},
        )
        assert answered["dropshipOrder"]["status"] == "REJECTED"
        seen = (await company.api.ok(ORDER, {"id": order["id"]}))["order"]
        assert seen["status"] == "CONFIRMED"
        assert any("rejected by Acme: out of stock" in (e["comment"] or "") for e in seen["events"])
        rejected = (await company.api.ok("{ dropshipOrders(status: REJECTED) { nodes { id } } }"))[
            "dropshipOrders"
        ]
        assert [n["id"] for n in rejected["nodes"]] == [row["id"]]


async def test_a_supplier_by_email_gets_one_message(company, in_process):
    async with FakeSmtp() as smtp:
        await use_smtp(company, smtp.port)
        smtp.fail_next("451")
        shop, _, _ = await dropship_shop(company, {"kind": "EMAIL", "email": "orders@acme.example"})
        order = await confirmed_order(shop)
        await drain(in_process)
        [row] = await dropships(company, order["id"])
        assert row["status"] == "SENT"
        [mail] = smtp.mailbox.values()
        assert mail.to == "orders@acme.example" and "Moscow, Tverskaya 1" in mail.body


async def test_a_supplier_that_refuses_the_order_fails_it_with_an_event(company, in_process):
    async with FakeSupplier() as supplier:
        shop, _, _ = await dropship_shop(
            company, {"kind": "HTTP", "url": supplier.url, "secret": supplier.secret}
        )
        supplier.fail_next("400")
        order = await confirmed_order(shop)
        await drain(in_process)
        [row] = await dropships(company, order["id"])
        assert row["status"] == "FAILED" and "we do not ship there" in row["error"]
        seen = (await company.api.ok(ORDER, {"id": order["id"]}))["order"]
        assert any("could not be sent" in (e["comment"] or "") for e in seen["events"])


async def test_a_callback_with_a_wrong_signature_or_for_another_accounts_order_is_refused(
    company, other_company, client, in_process
):
    async with FakeSupplier() as supplier:
        shop, _, endpoint = await dropship_shop(
            company, {"kind": "HTTP", "url": supplier.url, "secret": supplier.secret}
        )
        _, _, their_endpoint = await dropship_shop(other_company, {"kind": "HTTP", "url": supplier.url})
        order = await confirmed_order(shop)
        await drain(in_process)
        [row] = await dropships(company, order["id"])
        forged = await callback(
            client,
            endpoint,
            {"id": row["id"], "status": "SHIPPED", "tracking_number": "X"},
            secret="not-the-secret-at-all-0000",
        )
        assert forged.status_code == 401
        unsigned = await client.post(endpoint["callbackPath"], content=b'{"id": "x", "status": "ACCEPTED"}')
        assert unsigned.status_code == 401
        # Correctly signed by the other account's supplier endpoint, naming this account's order.
        foreign = await callback(
            client, their_endpoint, {"id": row["id"], "status": "REJECTED", "reason": "x"}
        )
        assert foreign.status_code == 404
        unknown = await client.post(f"/dropship/callback/{uuid.uuid4()}", content=b"{}")
        assert unknown.status_code == 404
        assert (await DropshipOrder.get(id=row["id"])).status == "SENT"
        assert (await company.api.ok(ORDER, {"id": order["id"]}))["order"]["status"] == "CONFIRMED"
