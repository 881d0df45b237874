"""Dropshipping: order lines whose stock sits in a SUPPLIER warehouse are shipped by that supplier.

When such an order is confirmed, one `DropshipOrder` per supplier is written in the confirming
transaction, with the customer's delivery address, and a job sends it after commit: HTTP JSON to
the supplier's endpoint, signed `X-Signature: sha256=<HMAC-SHA256 of the body under the endpoint's
secret>`, or an email. Our dropship order id is the supplier's idempotency key (`id` in the body,
the Message-ID of the email), so a send retried after a crash does not order twice.

The supplier answers (ACCEPTED, REJECTED with a reason, SHIPPED with a tracking number) through a
signed callback (`handle_callback`, the public POST /dropship/callback/<endpoint id>) or a manager
records it (`answer_dropship_order`). Answers are idempotent: the same one again changes nothing.
A rejection goes on the order's timeline addressed to its manager; when every dropship order of an
order that has no lines of its own has shipped, the order moves on to SHIPPED.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import logging
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr

import aiosmtplib
import httpx
from tortoise.expressions import F

from models.catalog import Product, Variant
from models.customers import Customer, Supplier
from models.inventory import Warehouse
from models.orders import Order, OrderLine
from models.purchasing import DropshipOrder, SupplierEndpoint
from services import queue
from services.access import Actor, Permission
from services.db import get_owned, transaction
from services.errors import InvalidInput, ProblemList
from services.order_records import page_of_order_records
from services.order_timeline import EventSpec, OrderEventType, record_event
from services.pagination import Page
from services.validation import clean_text, is_email

log = logging.getLogger("backoffice.dropship")

SEND_TIMEOUT_SECONDS = 15.0
SIGNATURE_HEADER = "X-Signature"


class EndpointKind(enum.StrEnum):
    HTTP = "HTTP"
    EMAIL = "EMAIL"


class DropshipStatus(enum.StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    SHIPPED = "SHIPPED"
    FAILED = "FAILED"


ANSWERS = (DropshipStatus.ACCEPTED, DropshipStatus.REJECTED, DropshipStatus.SHIPPED)
# Which answers may follow which status. The same answer again is a no-op, not an error.
MAY_ANSWER = {
    DropshipStatus.PENDING: ANSWERS,
    DropshipStatus.SENT: ANSWERS,
    DropshipStatus.FAILED: ANSWERS,
    DropshipStatus.ACCEPTED: (DropshipStatus.REJECTED, DropshipStatus.SHIPPED),
    DropshipStatus.REJECTED: (),
    DropshipStatus.SHIPPED: (),
}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- supplier endpoints -------------------------------------------------------------------------------


@dataclass
class EndpointInput:
    kind: str
    url: str | None = None
    email: str | None = None
    secret: str | None = None


async def set_supplier_endpoint(actor: Actor, supplier_id: object, data: EndpointInput) -> SupplierEndpoint:
    """How a supplier takes dropship orders. Without a secret given, a new one is made."""
    actor.require(Permission.SUPPLIERS_WRITE)
    problems = ProblemList()
    if data.kind not in EndpointKind.__members__:
        problems.add(["kind"], "INVALID", f"kind is one of {', '.join(EndpointKind)}")
    url = clean_text(problems, data.url, ["url"], max_length=500)
    email = clean_text(problems, data.email, ["email"], max_length=254).lower()
    if data.kind == EndpointKind.HTTP and not re.match(r"^https?://[^\s/]+", url):
        problems.add(["url"], "INVALID_URL", "an HTTP endpoint needs an http(s) URL")
    if data.kind == EndpointKind.EMAIL and not is_email(email):
        problems.add(["email"], "INVALID_EMAIL", "an EMAIL endpoint needs an email address")
    secret = (data.secret or "").strip() or secrets.token_urlsafe(32)
    if not 16 <= len(secret) <= 128:
        problems.add(["secret"], "INVALID", "a secret is 16 to 128 characters")
    try:
        supplier = await get_owned(Supplier, actor, supplier_id, field=["supplierId"], what="supplier")
    except InvalidInput as exc:
        problems.problems.extend(exc.problems)
    problems.raise_if_any()
    async with transaction():
        endpoint = await SupplierEndpoint.filter(account_id=actor.account_id, supplier_id=supplier.id).first()
        if endpoint is None:
            endpoint = SupplierEndpoint(id=uuid.uuid4(), account_id=actor.account_id, supplier_id=supplier.id)
        endpoint.kind, endpoint.url, endpoint.email, endpoint.secret = data.kind, url, email, secret
        await endpoint.save()
    return endpoint


# --- creating dropship orders (inside the confirming transaction) --------------------------------------


async def create_for_confirmed_order(order: Order) -> list[DropshipOrder]:
    """One dropship order per supplier whose warehouse holds lines of `order`; sent after commit.
    Call inside the transaction that confirms the order. Confirming again creates nothing new."""
    lines = await OrderLine.filter(
        account_id=order.account_id, order_id=order.id, warehouse_id__not_isnull=True
    ).order_by("position")
    if not lines:
        return []
    warehouses = {
        w.id: w
        for w in await Warehouse.filter(
            account_id=order.account_id, id__in=list({x.warehouse_id for x in lines}), kind="SUPPLIER"
        )
    }
    by_supplier: dict[uuid.UUID, list[OrderLine]] = {}
    for line in lines:
        warehouse = warehouses.get(line.warehouse_id)
        if warehouse is not None and warehouse.supplier_id is not None:
            by_supplier.setdefault(warehouse.supplier_id, []).append(line)
    if not by_supplier:
        return []
    variants = {
        v.id: v
        for v in await Variant.filter(account_id=order.account_id, id__in=[x.variant_id for x in lines])
    }
    products = {
        p.id: p
        for p in await Product.filter(
            account_id=order.account_id, id__in=list({v.product_id for v in variants.values()})
        )
    }
    customer = await Customer.filter(id=order.customer_id, account_id=order.account_id).first()
    created = []
    for supplier_id, supplier_lines in by_supplier.items():
        existing = await DropshipOrder.filter(
            account_id=order.account_id, order_id=order.id, supplier_id=supplier_id
        ).first()
        if existing is not None:
            continue
        dropship = await DropshipOrder.create(
            id=uuid.uuid4(),
            account_id=order.account_id,
            order_id=order.id,
            supplier_id=supplier_id,
            lines=[
                {
                    "order_line_id": str(line.id),
                    "sku": variants[line.variant_id].sku,
                    "name": products[variants[line.variant_id].product_id].name,
                    "quantity_milli": line.quantity_milli,
                    "unit": line.unit,
                }
                for line in supplier_lines
            ],
            customer_name=customer.name if customer else "",
            customer_email=(customer.emails[0] if customer and customer.emails else ""),
            customer_phone=(customer.phones[0] if customer and customer.phones else ""),
            delivery_method=order.delivery_method,
            delivery_address=order.delivery_address,
        )
        queue.enqueue_after_commit("dropship.send", str(dropship.id), job_id=_send_job_id(dropship.id))
        created.append(dropship)
    return created


def _send_job_id(dropship_id: object) -> str:
    return f"dropship:{dropship_id}:send"


def supplier_document(dropship: DropshipOrder, order: Order) -> dict:
    """What the supplier receives."""
    return {
        "id": str(dropship.id),
        "order_number": order.number,
        "lines": [
            {
                "sku": x["sku"],
                "name": x["name"],
                "quantity": str(x["quantity_milli"] / 1000),
                "unit": x["unit"],
            }
            for x in dropship.lines
        ],
        "customer": {
            "name": dropship.customer_name,
            "email": dropship.customer_email,
            "phone": dropship.customer_phone,
        },
        "delivery": {"method": dropship.delivery_method, "address": dropship.delivery_address},
    }


# --- the send job ---------------------------------------------------------------------------------------


class _Refused(Exception):
    pass


async def _send_failed(dropship_id: str, *, error: str) -> None:
    await _fail(dropship_id, error)


async def _fail(dropship_id: object, error: str) -> None:
    async with transaction():
        changed = await DropshipOrder.filter(id=dropship_id, status=DropshipStatus.PENDING).update(
            status=DropshipStatus.FAILED, error=error[:2000]
        )
        if changed:
            dropship = await DropshipOrder.get(id=dropship_id)
            await _order_event(dropship, f"could not be sent to the supplier: {error}")


@queue.job("dropship.send", on_failure=_send_failed)
async def send_dropship_order(dropship_id: str) -> str:
    """Sends a PENDING dropship order; the attempt is counted before and SENT written after."""
    dropship = await DropshipOrder.filter(id=dropship_id).first()
    if dropship is None or dropship.status != DropshipStatus.PENDING:
        return "stale"
    endpoint = await SupplierEndpoint.filter(
        account_id=dropship.account_id, supplier_id=dropship.supplier_id
    ).first()
    if endpoint is None:
        await _fail(dropship.id, "the supplier has no endpoint: set one, or record its answer by hand")
        return "no endpoint"
    order = await Order.get(id=dropship.order_id, account_id=dropship.account_id)
    document = supplier_document(dropship, order)
    await DropshipOrder.filter(id=dropship.id, status=DropshipStatus.PENDING).update(
        send_attempts=F("send_attempts") + 1
    )
    try:
        if endpoint.kind == EndpointKind.HTTP:
            reference = await _post(endpoint, document)
        else:
            reference = await _email(dropship, endpoint, document)
    except _Refused as exc:
        await _fail(dropship.id, str(exc))
        return "refused"
    await DropshipOrder.filter(id=dropship.id, status=DropshipStatus.PENDING).update(
        status=DropshipStatus.SENT, sent_at=datetime.now(UTC), supplier_reference=reference[:200], error=""
    )
    return "sent"


async def _post(endpoint: SupplierEndpoint, document: dict) -> str:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(endpoint.secret, body)}
    try:
        async with httpx.AsyncClient(timeout=SEND_TIMEOUT_SECONDS) as http:
            response = await http.post(endpoint.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise queue.Transient(f"supplier endpoint: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise queue.Transient(f"supplier endpoint answered {response.status_code}")
    if response.status_code >= 400:
        raise _Refused(f"supplier endpoint refused ({response.status_code}): {response.text[:300]}")
    try:
        return str(response.json().get("reference", ""))
    except ValueError:
        return ""


async def _email(dropship: DropshipOrder, endpoint: SupplierEndpoint, document: dict) -> str:
    from services.campaigns import _settings_of

    settings = await _settings_of(dropship.account_id)
    if not settings.smtp_host or not settings.from_email:
        raise _Refused("no SMTP server set (messagingSettings) to email the supplier")
    message = EmailMessage()
    message["From"] = formataddr((settings.from_name, settings.from_email))
    message["To"] = endpoint.email
    message["Subject"] = f"Dropship order {dropship.id} (order {document['order_number']})"
    message["Message-ID"] = f"<dropship-{dropship.id}@{settings.from_email.rpartition('@')[2]}>"
    lines = "\n".join(f"- {x['sku']} {x['name']}: {x['quantity']} {x['unit']}" for x in document["lines"])
    delivery = document["delivery"]
    customer = document["customer"]
    message.set_content(
        f"Please ship to {customer['name']} ({customer['phone'] or customer['email']}):\n"
        f"{delivery['address']} ({delivery['method']})\n\n{lines}\n\n"
        f"Order reference: {dropship.id}\n"
    )
    try:
        smtp = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_security == "TLS",
            start_tls=True if settings.smtp_security == "STARTTLS" else False,
            timeout=SEND_TIMEOUT_SECONDS,
        )
        async with smtp:
            if settings.smtp_username:
                await smtp.login(settings.smtp_username, settings.smtp_password)
            await smtp.send_message(message)
    except aiosmtplib.SMTPResponseException as exc:
        if exc.code >= 500:
            raise _Refused(f"SMTP {exc.code}: {exc.message}") from exc
        raise queue.Transient(f"SMTP {exc.code}: {exc.message}") from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise queue.Transient(f"SMTP: {type(exc).__name__}: {exc}") from exc
    return str(message["Message-ID"])


# --- the supplier's answer ------------------------------------------------------------------------------


@dataclass
class Answer:
    status: str
    tracking_number: str | None = None
    reason: str | None = None
    reference: str | None = None


def _check_answer(answer: Answer) -> Answer:
    problems = ProblemList()
    if answer.status not in [a.value for a in ANSWERS]:
        problems.add(["status"], "INVALID", f"status is one of {', '.join(ANSWERS)}")
    tracking = clean_text(problems, answer.tracking_number, ["trackingNumber"], max_length=100)
    reason = clean_text(problems, answer.reason, ["reason"], max_length=2000)
    reference = clean_text(problems, answer.reference, ["reference"], max_length=200)
    if answer.status == DropshipStatus.SHIPPED and not tracking:
        problems.add(["trackingNumber"], "REQUIRED", "a shipment needs its tracking number")
    if answer.status == DropshipStatus.REJECTED and not reason:
        problems.add(["reason"], "REQUIRED", "a rejection needs its reason")
    problems.raise_if_any()
    return Answer(answer.status, tracking, reason, reference)


async def _apply_answer(dropship_id: uuid.UUID, account_id: uuid.UUID, answer: Answer) -> DropshipOrder:
    """Records an answer inside a transaction: the same answer again changes nothing."""
    dropship = await DropshipOrder.filter(id=dropship_id, account_id=account_id).select_for_update().get()
    current = DropshipStatus(dropship.status)
    if current == answer.status:
        return dropship
    if answer.status not in MAY_ANSWER[current]:
        raise InvalidInput.one(
            ["status"],
            "ILLEGAL_TRANSITION",
            f"the dropship order is {current.value}: it cannot become {answer.status}",
        )
    dropship.status = answer.status
    dropship.answered_at = datetime.now(UTC)
    if answer.tracking_number:
        dropship.tracking_number = answer.tracking_number
    if answer.reason:
        dropship.rejection_reason = answer.reason
    if answer.reference:
        dropship.supplier_reference = answer.reference
    await dropship.save()
    supplier = await Supplier.get(id=dropship.supplier_id, account_id=account_id)
    if answer.status == DropshipStatus.REJECTED:
        await _order_event(dropship, f"was rejected by {supplier.name}: {answer.reason}")
    elif answer.status == DropshipStatus.ACCEPTED:
        await _order_event(dropship, f"was accepted by {supplier.name}")
    else:
        await _order_event(
            dropship, f"was shipped by {supplier.name}, tracking number {answer.tracking_number}"
        )
        await _ship_order_if_all_shipped(dropship)
    return dropship


async def _order_event(dropship: DropshipOrder, what: str) -> None:
    """An entry on the order's timeline; the live feed carries it to the order's manager."""
    order = await Order.get(id=dropship.order_id, account_id=dropship.account_id)
    await record_event(
        order,
        None,
        EventSpec(OrderEventType.COMMENTED, comment=f"Dropship order {dropship.id} {what}"[:2000]),
    )


async def _ship_order_if_all_shipped(dropship: DropshipOrder) -> None:
    from services import orders as order_service
    from services.order_timeline import OrderStatus

    order = await Order.get(id=dropship.order_id, account_id=dropship.account_id)
    if await DropshipOrder.filter(
        account_id=order.account_id, order_id=order.id, status__not=DropshipStatus.SHIPPED
    ).exists():
        return
    lines = await OrderLine.filter(account_id=order.account_id, order_id=order.id).values_list(
        "warehouse_id", flat=True
    )
    supplier_held = await Warehouse.filter(
        account_id=order.account_id, id__in=[w for w in lines if w], kind="SUPPLIER"
    ).values_list("id", flat=True)
    if any(w is None or w not in supplier_held for w in lines):
        return  # the order has lines of its own: its staff ships those
    system = Actor.system(order.account_id)
    if order.status == OrderStatus.CONFIRMED:
        order = await order_service.set_order_status(system, order.id, OrderStatus.PACKED.value)
    if order.status == OrderStatus.PACKED:
        await order_service.set_order_status(system, order.id, OrderStatus.SHIPPED.value)


async def answer_dropship_order(actor: Actor, dropship_id: object, answer: Answer) -> DropshipOrder:
    """A manager records the supplier's answer (given by phone or email)."""
    actor.require(Permission.ORDERS_WRITE)
    answer = _check_answer(answer)
    async with transaction():
        dropship = await get_owned(
            DropshipOrder, actor, dropship_id, field=["dropshipOrderId"], what="dropship order"
        )
        return await _apply_answer(dropship.id, actor.account_id, answer)


class CallbackRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


async def handle_callback(endpoint_id: str, body: bytes, signature: str | None) -> DropshipOrder:
    """A supplier's signed answer: the signature is checked with the endpoint's secret, and only
    that supplier's dropship orders of that account can be answered (others are not found)."""
    try:
        endpoint_uuid = uuid.UUID(endpoint_id)
    except ValueError as exc:
        raise CallbackRefused(404, "unknown endpoint") from exc
    endpoint = await SupplierEndpoint.filter(id=endpoint_uuid).first()
    if endpoint is None:
        raise CallbackRefused(404, "unknown endpoint")
    if not signature or not hmac.compare_digest(signature, sign(endpoint.secret, body)):
        raise CallbackRefused(401, "bad signature")
    try:
        data = json.loads(body)
        dropship_id = uuid.UUID(str(data["id"]))
        answer = Answer(
            status=str(data.get("status", "")),
            tracking_number=data.get("tracking_number"),
            reason=data.get("reason"),
            reference=data.get("reference"),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise CallbackRefused(400, "the body is JSON with id and status") from exc
    try:
        answer = _check_answer(answer)
        async with transaction():
            mine = await DropshipOrder.filter(
                id=dropship_id, account_id=endpoint.account_id, supplier_id=endpoint.supplier_id
            ).exists()
            if not mine:
                raise CallbackRefused(404, "no such dropship order")
            return await _apply_answer(dropship_id, endpoint.account_id, answer)
    except InvalidInput as exc:
        raise CallbackRefused(422, str(exc)) from exc


# --- reading ---------------------------------------------------------------------------------------------


async def get_dropship_order(
    actor: Actor, dropship_id: object, field: Sequence[str] = ("id",)
) -> DropshipOrder:
    actor.require(Permission.ORDERS_READ)
    return await get_owned(DropshipOrder, actor, dropship_id, field=field, what="dropship order")


async def list_dropship_orders(
    actor: Actor, *, order_id: object | None, status: str | None, first: int | None, after: str | None
) -> Page[DropshipOrder]:
    return await page_of_order_records(
        DropshipOrder, actor, order_id=order_id, status=status, first=first, after=after
    )


async def sweep_dropship_orders() -> int:
    """Enqueues the dropship orders still waiting to be sent."""
    count = 0
    for dropship_id in await DropshipOrder.filter(status=DropshipStatus.PENDING).values_list("id", flat=True):
        count += await queue.enqueue("dropship.send", str(dropship_id), job_id=_send_job_id(dropship_id))
    return count


queue.register_sweeper("dropship", sweep_dropship_orders)
