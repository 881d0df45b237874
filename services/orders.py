"""Orders: sales channels, placing an order, the status workflow, comments, and reading orders.

Placing is idempotent by the channel's own order id (`external_id`): the same channel and id
again returns the first order, also when two requests race (the unique key decides, the loser
reads the winner's order); the same id with different content is an error and leaves the
first order as it was (a hash of the input tells them apart).

The workflow: NEW → CONFIRMED → PACKED → SHIPPED → DELIVERED → COMPLETED; CANCELLED from any
status before SHIPPED (the reservations are released); RETURNED from SHIPPED on (the goods come
back to the warehouse). Setting the status an order already has does nothing.

Assignment and numbering: services/order_assignment.py; payments: services/payments.py;
the confirmation deadline: services/order_deadlines.py; the timeline: services/order_timeline.py.
"""

from __future__ import annotations

import enum
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery

from models.accounts import Account, User
from models.catalog import Price, PriceType, Variant
from models.customers import Customer
from models.inventory import Warehouse
from models.orders import Order, OrderLine, SalesChannel
from services import customers, dropship, inventory
from services.access import Actor, Permission
from services.amounts import MAX_MONEY_MINOR, QUANTITY_SCALE, money_to_minor, quantity_to_milli
from services.customers import CounterpartyInput
from services.db import get_owned, parse_id, transaction
from services.errors import InvalidInput, NotFound, ProblemList
from services.order_assignment import AssignmentStrategy, managers_on_shift, take_number_and_manager
from services.order_timeline import (
    EventSpec,
    OrderEventType,
    OrderStatus,
    record_event,
)
from services.pagination import Page, paginate
from services.validation import clean_text, is_email, normalise_email, normalise_phone

MAX_ORDER_LINES = 500
MAX_CHANNELS = 200


class ChannelKind(enum.StrEnum):
    WEB_STORE = "WEB_STORE"
    MARKETPLACE = "MARKETPLACE"
    RETAIL = "RETAIL"
    PHONE = "PHONE"
    SOCIAL = "SOCIAL"
    OTHER = "OTHER"


# Where each status may go next. Setting the current status again is allowed and does nothing.
TRANSITIONS: dict[OrderStatus, tuple[OrderStatus, ...]] = {
    OrderStatus.NEW: (OrderStatus.CONFIRMED, OrderStatus.CANCELLED),
    OrderStatus.CONFIRMED: (OrderStatus.PACKED, OrderStatus.CANCELLED),
    OrderStatus.PACKED: (OrderStatus.SHIPPED, OrderStatus.CANCELLED),
    OrderStatus.SHIPPED: (OrderStatus.DELIVERED, OrderStatus.RETURNED),
    OrderStatus.DELIVERED: (OrderStatus.COMPLETED, OrderStatus.RETURNED),
    OrderStatus.COMPLETED: (OrderStatus.RETURNED,),
    OrderStatus.CANCELLED: (),
    OrderStatus.RETURNED: (),
}


# --- sales channels ----------------------------------------------------------------------------


async def create_sales_channel(
    actor: Actor, *, name: str, kind: str, warehouse_id: object, price_type: str | None = None
) -> SalesChannel:
    actor.require(Permission.SETTINGS_MANAGE)
    problems = ProblemList()
    name = clean_text(problems, name, ["name"], max_length=200, required=True)
    if kind not in ChannelKind.__members__:
        problems.add(["kind"], "INVALID", f"kind is one of {', '.join(ChannelKind)}")
    problems.raise_if_any()
    warehouse = await get_owned(Warehouse, actor, warehouse_id, field=["warehouseId"], what="warehouse")
    code = (price_type or "RETAIL").strip().upper()
    found = await PriceType.filter(account_id=actor.account_id, code=code).first()
    if found is None:
        raise InvalidInput.one(["priceType"], "UNKNOWN_PRICE_TYPE", f"there is no price type {code[:40]!r}")
    if await SalesChannel.filter(account_id=actor.account_id).count() >= MAX_CHANNELS:
        raise InvalidInput.one(None, "TOO_MANY", f"an account has at most {MAX_CHANNELS} sales channels")
    try:
        async with transaction():
            return await SalesChannel.create(
                account_id=actor.account_id,
                name=name,
                kind=kind,
                warehouse_id=warehouse.id,
                price_type_id=found.id,
            )
    except IntegrityError as exc:
        raise InvalidInput.one(["name"], "DUPLICATE", f"a sales channel {name!r} already exists") from exc


async def list_sales_channels(actor: Actor) -> list[SalesChannel]:
    actor.require(Permission.ORDERS_READ)
    return await SalesChannel.filter(account_id=actor.account_id).order_by("name")


async def get_sales_channel(actor: Actor, channel_id: object, field: Sequence[str] = ("id",)) -> SalesChannel:
    actor.require(Permission.ORDERS_READ)
    return await get_owned(SalesChannel, actor, channel_id, field=field, what="sales channel")


# --- placing an order ----------------------------------------------------------------------------


@dataclass
class CustomerRef:
    """An existing customer by id, or contact details to find one by (or to create one with)."""

    id: object | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass
class LineSpec:
    variant_id: object | None = None
    sku: str | None = None
    quantity: Decimal | int | str | None = None
    price: Decimal | int | str | None = None  # None: the channel's price type


@dataclass
class PlaceOrder:
    channel_id: object
    lines: list[LineSpec]
    customer: CustomerRef | None = None
    external_id: str | None = None
    delivery_method: str | None = None
    delivery_address: str | None = None
    comment: str | None = None


@dataclass
class _Line:
    position: int
    variant_id: uuid.UUID
    unit: str
    stocked: bool
    quantity_milli: int
    price_minor: int

    @property
    def total_minor(self) -> int:
        # Weight goods: price per unit times thousandths, rounded half up to the minor unit.
        return (self.price_minor * self.quantity_milli + QUANTITY_SCALE // 2) // QUANTITY_SCALE


@dataclass
class _Checked:
    customer: Customer | None
    new_customer: CounterpartyInput | None
    lines: list[_Line]
    delivery_method: str
    delivery_address: str
    comment: str
    total_minor: int = 0


def _canonical_decimal(value: object) -> str | None:
    if value is None:
        return None
    try:
        return str(Decimal(str(value)).normalize())
    except ArithmeticError:
        return str(value)


def content_hash(spec: PlaceOrder) -> str:
    """What makes two placements the same order: a retry must send the same content."""
    ref = spec.customer
    customer: object = None
    if ref is not None:
        customer = (
            {"id": str(ref.id)}
            if ref.id is not None
            else {
                "name": (ref.name or "").strip(),
                "email": normalise_email(ref.email or ""),
                "phone": normalise_phone(ref.phone or ""),
            }
        )
    body = {
        "customer": customer,
        "lines": [
            [
                str(line.variant_id) if line.variant_id is not None else None,
                (line.sku or "").strip() or None,
                _canonical_decimal(line.quantity),
                _canonical_decimal(line.price),
            ]
            for line in spec.lines
        ],
        "delivery": [(spec.delivery_method or "").strip(), (spec.delivery_address or "").strip()],
        "comment": (spec.comment or "").strip(),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _same_order(existing: Order, digest: str) -> Order:
    if existing.content_hash != digest:
        raise InvalidInput.one(
            ["externalId"],
            "EXTERNAL_ID_REUSED",
            f"order {existing.number} was placed with this externalId and different content; "
            "it is left as it was",
        )
    return existing


async def _placed_before(account_id: uuid.UUID, channel_id: uuid.UUID, external_id: str) -> Order | None:
    return await Order.filter(account_id=account_id, channel_id=channel_id, external_id=external_id).first()


async def place_order(actor: Actor, spec: PlaceOrder) -> Order:
    """Places an order, reserving its stock from the channel's warehouse; all or nothing."""
    actor.require(Permission.ORDERS_WRITE)
    if len(spec.lines) > MAX_ORDER_LINES:
        raise InvalidInput.one(["lines"], "TOO_MANY_LINES", f"an order has at most {MAX_ORDER_LINES} lines")
    if not spec.lines:
        raise InvalidInput.one(["lines"], "REQUIRED", "an order needs at least one line")
    channel = await get_owned(SalesChannel, actor, spec.channel_id, field=["channelId"], what="sales channel")
    problems = ProblemList()
    external_id = clean_text(problems, spec.external_id, ["externalId"], max_length=100) or None
    problems.raise_if_any()
    digest = content_hash(spec)
    if external_id is not None:
        existing = await _placed_before(actor.account_id, channel.id, external_id)
        if existing is not None:
            return _same_order(existing, digest)
    account = await Account.get(id=actor.account_id)
    checked = await _check(actor, account, channel, spec)
    managers = []
    if account.assignment_strategy != AssignmentStrategy.MANUAL:
        managers = await managers_on_shift(account.id)
    try:
        async with transaction():
            return await _write(actor, account, channel, external_id, digest, checked, managers)
    except IntegrityError:
        # The unique (account, channel, external id) key: another request placed it first.
        if external_id is not None:
            existing = await _placed_before(actor.account_id, channel.id, external_id)
            if existing is not None:
                return _same_order(existing, digest)
        raise


async def _check_customer(
    problems: ProblemList, actor: Actor, ref: CustomerRef | None
) -> tuple[Customer | None, CounterpartyInput | None]:
    if ref is not None and ref.id is not None:
        return (
            await get_owned(Customer, actor, ref.id, field=["customer", "id"], what="customer"),
            None,
        )
    email = normalise_email(ref.email or "") if ref else ""
    phone = normalise_phone(ref.phone or "") if ref else ""
    if not email and not phone:
        problems.add(
            ["customer"], "CUSTOMER_REQUIRED", "an order needs a customer: an id, or an email or a phone"
        )
        return None, None
    if email and (len(email) > 254 or not is_email(email)):
        problems.add(["customer", "email"], "INVALID_EMAIL", "this is not an email address")
    if phone and not 5 <= len(phone.lstrip("+")) <= 15:
        problems.add(["customer", "phone"], "INVALID_PHONE", "this is not a phone number")
    name = clean_text(problems, ref.name if ref else None, ["customer", "name"], max_length=300)
    if problems:
        return None, None
    found = await customers.find_customer_by_contact(actor.account_id, email=email, phone=phone)
    if found is not None:
        return found, None
    new = CounterpartyInput(
        name=name or email or phone, emails=[email] if email else [], phones=[phone] if phone else []
    )
    return None, new


async def _variants_of(
    actor: Actor, lines: Sequence[LineSpec], problems: ProblemList
) -> list[Variant | None]:
    """The variant of each line, by id or sku, in one query; problems for those not found, in line order."""
    ids: dict[int, uuid.UUID] = {}
    skus: dict[int, str] = {}
    issues: dict[int, list[tuple[list[str], str, str]]] = {}
    for index, line in enumerate(lines):
        at = ["lines", str(index)]
        if line.variant_id is not None and line.sku:
            issues[index] = [(at, "AMBIGUOUS", "give a line either a variantId or a sku, not both")]
        elif line.variant_id is not None:
            try:
                ids[index] = parse_id(line.variant_id, [*at, "variantId"], "variant")
            except NotFound:
                issues[index] = [([*at, "variantId"], "NOT_FOUND", "variant not found")]
        elif (line.sku or "").strip():
            skus[index] = line.sku.strip()
        else:
            issues[index] = [(at, "REQUIRED", "a line needs a variantId or a sku")]
    query = Q(id__in=list(set(ids.values()))) | Q(sku__in=list(set(skus.values())))
    rows = await Variant.filter(query, account_id=actor.account_id).select_related("product")
    by_id = {v.id: v for v in rows}
    by_sku = {v.sku: v for v in rows}
    found: list[Variant | None] = []
    for index in range(len(lines)):
        variant = None
        if index in ids:
            variant = by_id.get(ids[index])
            if variant is None:
                issues[index] = [(["lines", str(index), "variantId"], "NOT_FOUND", "variant not found")]
        elif index in skus:
            variant = by_sku.get(skus[index])
            if variant is None:
                message = f"there is no variant with sku {skus[index][:100]!r}"
                issues[index] = [(["lines", str(index), "sku"], "NOT_FOUND", message)]
        for field_, code, message in issues.get(index, ()):
            problems.add(field_, code, message)
        found.append(variant)
    return found


async def _check(actor: Actor, account: Account, channel: SalesChannel, spec: PlaceOrder) -> _Checked:
    problems = ProblemList()
    customer, new_customer = await _check_customer(problems, actor, spec.customer)
    delivery_method = clean_text(problems, spec.delivery_method, ["delivery", "method"], max_length=100)
    delivery_address = clean_text(problems, spec.delivery_address, ["delivery", "address"], max_length=1000)
    comment = clean_text(problems, spec.comment, ["comment"], max_length=10000)
    variants = await _variants_of(actor, spec.lines, problems)
    unpriced = [v.id for v, line in zip(variants, spec.lines, strict=True) if v and line.price is None]
    channel_prices: dict[uuid.UUID, int] = {}
    if unpriced:
        channel_prices = dict(
            await Price.filter(
                account_id=actor.account_id, variant_id__in=unpriced, price_type_id=channel.price_type_id
            ).values_list("variant_id", "amount_minor")
        )
    lines: list[_Line] = []
    for index, (line, variant) in enumerate(zip(spec.lines, variants, strict=True)):
        at = ["lines", str(index)]
        if variant is None:
            continue
        unit = variant.product.unit
        try:
            quantity = quantity_to_milli(
                line.quantity if line.quantity is not None else "", unit, [*at, "quantity"]
            )
            if line.price is None:
                if variant.id not in channel_prices:
                    raise InvalidInput.one(
                        [*at, "price"], "NO_PRICE", f"{variant.sku} has no price of the channel's price type"
                    )
                price = channel_prices[variant.id]
            else:
                price = money_to_minor(line.price, account.currency, [*at, "price"])
        except InvalidInput as exc:
            problems.problems.extend(exc.problems)
            continue
        lines.append(_Line(index, variant.id, unit, not variant.product.is_service, quantity, price))
    total = sum(line.total_minor for line in lines)
    if total >= MAX_MONEY_MINOR:
        problems.add(["lines"], "TOO_LARGE", "the order total is too large")
    problems.raise_if_any()
    return _Checked(customer, new_customer, lines, delivery_method, delivery_address, comment, total)


async def _write(
    actor: Actor,
    account: Account,
    channel: SalesChannel,
    external_id: str | None,
    digest: str,
    checked: _Checked,
    managers: list[uuid.UUID],
) -> Order:
    customer = checked.customer
    if customer is None:
        assert checked.new_customer is not None
        customer = await customers.create_customer(Actor.system(account.id), checked.new_customer)
    now = datetime.now(UTC)
    order = Order(
        id=uuid.uuid4(),
        account_id=account.id,
        created_at=now,
        channel_id=channel.id,
        external_id=external_id,
        content_hash=digest,
        customer_id=customer.id,
        total_minor=checked.total_minor,
        payment_status="PAID" if checked.total_minor == 0 else "UNPAID",
        delivery_method=checked.delivery_method,
        delivery_address=checked.delivery_address,
        comment=checked.comment,
        confirm_deadline=now + timedelta(minutes=account.confirmation_minutes),
    )
    await order.save()
    rows = [
        OrderLine(
            id=uuid.uuid4(),
            account_id=account.id,
            order_id=order.id,
            position=line.position,
            variant_id=line.variant_id,
            warehouse_id=channel.warehouse_id if line.stocked else None,
            unit=line.unit,
            quantity_milli=line.quantity_milli,
            price_minor=line.price_minor,
            total_minor=line.total_minor,
        )
        for line in checked.lines
    ]
    await OrderLine.bulk_create(rows)
    requests = [
        inventory.ReservationRequest(
            order_line_id=row.id,
            warehouse_id=row.warehouse_id,
            variant_id=row.variant_id,
            quantity_milli=row.quantity_milli,
            field=("lines", str(row.position), "quantity"),
        )
        for row in rows
        if row.warehouse_id is not None
    ]
    if requests:
        await inventory.reserve_stock(account.id, requests, allow_backorders=account.allow_backorders)
    # Last, so the account row stays locked for as short a time as possible.
    order.number, order.manager_id = await take_number_and_manager(account.id, managers)
    await Order.filter(id=order.id).update(number=order.number, manager_id=order.manager_id)
    events = [EventSpec(OrderEventType.CREATED, to_status=OrderStatus.NEW)]
    if order.manager_id is not None:
        events.append(EventSpec(OrderEventType.ASSIGNED))
    await record_event(order, actor.user_id, *events)
    return order


# --- the workflow --------------------------------------------------------------------------------


async def set_order_status(actor: Actor, order_id: object, status: str, comment: str | None = None) -> Order:
    """Moves an order along the workflow, with the stock following it; the same status again does nothing."""
    actor.require(Permission.ORDERS_WRITE)
    if status not in OrderStatus.__members__:
        raise InvalidInput.one(["status"], "UNKNOWN_STATUS", f"status is one of {', '.join(OrderStatus)}")
    problems = ProblemList()
    note = clean_text(problems, comment, ["comment"], max_length=10000)
    problems.raise_if_any()
    target = OrderStatus(status)
    async with transaction():
        order = await get_owned(Order, actor, order_id, field=["orderId"], what="order", for_update=True)
        current = OrderStatus(order.status)
        if current == target:
            return order
        allowed = TRANSITIONS[current]
        if target not in allowed:
            then = f"it can become {' or '.join(allowed)}" if allowed else "it is final"
            raise InvalidInput.one(
                ["status"],
                "ILLEGAL_TRANSITION",
                f"order {order.number} is {current.value} and cannot become {target.value}: {then}",
            )
        await _move_stock(actor, order, target)
        now = datetime.now(UTC)
        order.status = target.value
        changed = ["status", "updated_at"]
        if target == OrderStatus.CONFIRMED and order.confirmed_at is None:
            order.confirmed_at = now
            changed.append("confirmed_at")
        if target == OrderStatus.SHIPPED:
            order.shipped_at = now
            changed.append("shipped_at")
        await order.save(update_fields=changed)
        await record_event(
            order,
            actor.user_id,
            EventSpec(OrderEventType.STATUS_CHANGED, from_status=current, to_status=target, comment=note),
        )
        if target == OrderStatus.CONFIRMED:
            # Lines held in a SUPPLIER warehouse go to that supplier (sent by a job after commit).
            await dropship.create_for_confirmed_order(order)
    return order


async def _move_stock(actor: Actor, order: Order, target: OrderStatus) -> None:
    if target not in (OrderStatus.CANCELLED, OrderStatus.SHIPPED, OrderStatus.RETURNED):
        return
    lines = await OrderLine.filter(
        account_id=order.account_id, order_id=order.id, warehouse_id__not_isnull=True
    ).order_by("position")
    if not lines:
        return
    ids = [line.id for line in lines]
    reference = f"order {order.number}"
    if target == OrderStatus.CANCELLED:
        await inventory.release_reservations(order.account_id, ids)
    elif target == OrderStatus.SHIPPED:
        await inventory.ship_reservations(order.account_id, ids, user_id=actor.user_id, reference=reference)
    else:
        requests = [
            inventory.ReservationRequest(
                order_line_id=line.id,
                warehouse_id=line.warehouse_id,
                variant_id=line.variant_id,
                quantity_milli=line.quantity_milli,
                field=("lines", str(line.position), "quantity"),
            )
            for line in lines
        ]
        await inventory.return_to_stock(
            order.account_id, requests, user_id=actor.user_id, reference=reference
        )


async def comment_order(actor: Actor, order_id: object, text: str) -> Order:
    actor.require(Permission.ORDERS_WRITE)
    problems = ProblemList()
    text = clean_text(problems, text, ["text"], max_length=10000, required=True)
    problems.raise_if_any()
    async with transaction():
        order = await get_owned(Order, actor, order_id, field=["orderId"], what="order")
        await record_event(order, actor.user_id, EventSpec(OrderEventType.COMMENTED, comment=text))
    return order


# --- reading -------------------------------------------------------------------------------------


@dataclass
class OrderFilter:
    statuses: list[str] = field(default_factory=list)
    channel_ids: list[object] = field(default_factory=list)
    manager_ids: list[object] = field(default_factory=list)
    customer_id: object | None = None
    overdue: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    search: str | None = None


async def get_order(actor: Actor, order_id: object, field: Sequence[str] = ("id",)) -> Order:
    actor.require(Permission.ORDERS_READ)
    return await get_owned(Order, actor, order_id, field=field, what="order")


async def _owned_ids(
    actor: Actor, model: type, raw: Sequence[object], field: str, what: str
) -> list[uuid.UUID]:
    """The ids a filter names, each checked to be in the account (another account's is NOT_FOUND)."""
    ids = [parse_id(value, ["filter", field], what) for value in raw]
    found = set(await model.filter(account_id=actor.account_id, id__in=ids).values_list("id", flat=True))
    if len(found) != len(set(ids)):
        raise NotFound(["filter", field], what)
    return ids


async def list_orders(
    actor: Actor, flt: OrderFilter, *, first: int | None, after: str | None, now: datetime | None = None
) -> Page[Order]:
    """Orders by number, oldest first, filtered."""
    actor.require(Permission.ORDERS_READ)
    query = Order.filter(account_id=actor.account_id)
    if flt.statuses:
        unknown = [s for s in flt.statuses if s not in OrderStatus.__members__]
        if unknown:
            raise InvalidInput.one(["filter", "statuses"], "UNKNOWN_STATUS", f"no status {unknown[0]!r}")
        query = query.filter(status__in=list(flt.statuses))
    if flt.channel_ids:
        ids = await _owned_ids(actor, SalesChannel, flt.channel_ids, "channelIds", "sales channel")
        query = query.filter(channel_id__in=ids)
    if flt.manager_ids:
        ids = await _owned_ids(actor, User, flt.manager_ids, "managerIds", "manager")
        query = query.filter(manager_id__in=ids)
    if flt.customer_id is not None:
        (customer_id,) = await _owned_ids(actor, Customer, [flt.customer_id], "customerId", "customer")
        query = query.filter(customer_id=customer_id)
    if flt.overdue is not None:
        moment = now or datetime.now(UTC)
        overdue = Q(status=OrderStatus.NEW, confirm_deadline__lte=moment)
        query = query.filter(overdue if flt.overdue else ~overdue)
    if flt.created_from is not None:
        query = query.filter(created_at__gte=flt.created_from)
    if flt.created_to is not None:
        query = query.filter(created_at__lt=flt.created_to)
    text = (flt.search or "").strip()
    if text:
        by_customer = Customer.filter(account_id=actor.account_id, search_text__contains=text.lower()).values(
            "id"
        )
        matches = Q(external_id=text) | Q(customer_id__in=Subquery(by_customer))
        digits = text.lstrip("#")
        if digits.isascii() and digits.isdigit() and len(digits) < 19:
            matches |= Q(number=int(digits))
        query = query.filter(matches)
    return await paginate(query, order_by="number", first=first, after=after)


def is_overdue(order: Order, now: datetime | None = None) -> bool:
    """Still waiting for confirmation after its deadline."""
    return order.status == OrderStatus.NEW and order.confirm_deadline <= (now or datetime.now(UTC))


async def lines_of_orders(account_id: uuid.UUID, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list]:
    rows = await OrderLine.filter(account_id=account_id, order_id__in=list(order_ids)).order_by(
        "order_id", "position"
    )
    grouped: dict[uuid.UUID, list[OrderLine]] = {oid: [] for oid in order_ids}
    for row in rows:
        grouped[row.order_id].append(row)
    return grouped
