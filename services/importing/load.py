"""Loading an import plan into an account: the owner, warehouse, channel, catalog and customers
through the ordinary services; the year of history through the bulk writes in `bulk.py`.

History is written as it happened: each order at its invoice's time, taken NEW → CONFIRMED →
PACKED → SHIPPED → DELIVERED → COMPLETED and paid, with that timeline, its SHIPMENT document
and movements; returns as RETURN documents with refunds; write-offs as WRITE_OFF documents;
"found" lines as RECEIPT documents. Before the goods of each batch leave, a RECEIPT brings in
what the warehouse lacks, so no shipment or write-off drives stock below zero.

Idempotent and resumable: orders are keyed by the invoice number (the channel's external id),
documents by their reference, refunds by their credit note. Each batch of invoices is one
transaction; a second run skips what is there and changes nothing. The historic timeline is
not replayed into the live event log (it would flood every live feed with last year's orders).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from models.accounts import Account, User
from models.catalog import Product, Variant
from models.customers import Customer
from models.events import Event
from models.inventory import StockDocument, StockDocumentLine, StockLevel, StockMovement, Warehouse
from models.orders import Order, OrderLine, Payment, SalesChannel
from services import accounts, catalog, customers, events, inventory, orders
from services.access import Actor, Role
from services.amounts import QUANTITY_SCALE
from services.db import transaction
from services.errors import InvalidInput
from services.importing import bulk
from services.importing.classify import ProductInfo, classify
from services.importing.plan import ImportPlan, InvoicePlan, build_plan
from services.importing.reader import read_rows
from services.order_timeline import EventSpec, OrderEventType, OrderStatus, payload_of
from services.payments import PAYMENT, REFUND, payment_status

COMPANY_NAME = "Online Retail (UCI data set)"
WAREHOUSE_NAME = "Online Retail warehouse"
CHANNEL_NAME = "Online Retail web store"
GUEST_CODE = "GUEST"
GUEST_NAME = "Guest (no CustomerID)"
CUSTOMER_TAG = "online-retail"
INVOICE_REF = "Online Retail invoice "
RECEIPT_REF = "Online Retail stock before invoice "
CREDIT_NOTE = "Online Retail credit note "
LONDON = ZoneInfo("Europe/London")
BATCH_INVOICES = 1000
WORKFLOW = (
    OrderStatus.NEW,
    OrderStatus.CONFIRMED,
    OrderStatus.PACKED,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
)

Progress = Callable[[int, int], None]  # (invoices done, invoices in all)


class ImportRefused(Exception):
    """The import cannot run into this account (wrong password, not the owner, not GBP)."""


@dataclass
class ImportResult:
    plan: ImportPlan
    account_id: uuid.UUID
    user_id: uuid.UUID
    account_created: bool
    written: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: float = 0.0


def utc(local: datetime) -> datetime:
    """An invoice time (UK local time, no zone in the file) as an aware UTC datetime."""
    return local.replace(tzinfo=LONDON).astimezone(UTC)


def read_plan(path: str | Path) -> ImportPlan:
    """Reads, checks and plans the whole file; raises ImportFileError before anything is written."""
    return build_plan(classify(read_rows(path)))


async def import_online_retail(
    path: str | Path,
    *,
    email: str,
    password: str,
    progress: Progress | None = None,
    batch_invoices: int = BATCH_INVOICES,
    plan: ImportPlan | None = None,
) -> ImportResult:
    started = time.monotonic()
    plan = plan or read_plan(path)
    actor, created = await owner_actor(email, password)
    result = ImportResult(plan, actor.account_id, actor.user_id, created)  # type: ignore[arg-type]
    loader = _Loader(actor, plan, result)
    await loader.prepare()
    await loader.load(progress, batch_invoices)
    result.seconds = time.monotonic() - started
    return result


async def owner_actor(email: str, password: str) -> tuple[Actor, bool]:
    """The owner of the account to import into, signing them up (GBP, Europe/London) if new."""
    user = await User.filter(email=email.strip().lower()).first()
    created = False
    if user is None:
        try:
            _, user, _ = await accounts.sign_up(
                company_name=COMPANY_NAME,
                email=email,
                password=password,
                currency="GBP",
                timezone="Europe/London",
                session_hours=1,
            )
        except InvalidInput as exc:
            raise ImportRefused(f"cannot create the account: {exc}") from exc
        created = True
    elif not await accounts._password_matches(user.password_hash, password):  # noqa: SLF001
        raise ImportRefused(f"the password is wrong for {email}")
    if user.role != Role.OWNER or not user.is_active:
        raise ImportRefused(f"{email} is not the active owner of an account: import into the owner's account")
    account = await Account.get(id=user.account_id)
    if account.currency != "GBP":
        raise ImportRefused(f"the account keeps {account.currency}; the data is in GBP")
    return Actor.for_user(account.id, user.id, Role.OWNER), created


@dataclass
class _Known:
    """An order already written: what a later refund needs."""

    order_id: uuid.UUID
    number: int
    payment_id: uuid.UUID | None
    total: int
    refunded: int


class _Loader:
    def __init__(self, actor: Actor, plan: ImportPlan, result: ImportResult) -> None:
        self.actor = actor
        self.account_id: uuid.UUID = actor.account_id
        self.user_id = actor.user_id
        self.plan = plan
        self.written = result.written
        self.variants: dict[str, uuid.UUID] = {}
        self.services: set[str] = {c for c, p in plan.products.items() if p.is_service}
        self.customers: dict[str, uuid.UUID] = {}
        self.known: dict[str, _Known] = {}
        self.documents: set[str] = set()
        self.credit_notes: set[str] = set()
        self.on_hand: dict[uuid.UUID, int] = defaultdict(int)

    # --- the account's setup, through the services ------------------------------------------

    async def prepare(self) -> None:
        account = await Account.get(id=self.account_id)
        self.confirm_minutes = account.confirmation_minutes
        warehouse = await Warehouse.filter(account_id=self.account_id, name=WAREHOUSE_NAME).first()
        if warehouse is None:
            warehouse = await inventory.create_warehouse(
                self.actor, inventory.WarehouseInput(name=WAREHOUSE_NAME, kind="OWN")
            )
        self.warehouse_id = warehouse.id
        channel = await SalesChannel.filter(account_id=self.account_id, name=CHANNEL_NAME).first()
        if channel is None:
            channel = await orders.create_sales_channel(
                self.actor, name=CHANNEL_NAME, kind=orders.ChannelKind.WEB_STORE, warehouse_id=warehouse.id
            )
        self.channel_id = channel.id
        await self._products()
        await self._customers()
        await self._done_already()

    async def _products(self) -> None:
        have = set(
            await Product.filter(
                account_id=self.account_id, article__in=list(self.plan.products)
            ).values_list("article", flat=True)
        )
        missing = [p for code, p in self.plan.products.items() if code not in have]
        for start in range(0, len(missing), catalog.MAX_PRODUCTS_PER_UPSERT):
            chunk = missing[start : start + catalog.MAX_PRODUCTS_PER_UPSERT]
            specs = [
                catalog.ProductSpec(
                    article=p.code,
                    name=p.display_name[:500],
                    group_path=["Services"] if p.is_service else None,
                    is_service=p.is_service,
                    prices=[catalog.PriceSpec("RETAIL", p.last_price)]
                    if p.last_price and not p.is_service
                    else [],
                )
                for p in chunk
            ]
            await catalog.upsert_products(self.actor, specs)
        self.written["products created"] += len(missing)
        rows = await Variant.filter(account_id=self.account_id, sku__in=list(self.plan.products)).values_list(
            "sku", "id"
        )
        self.variants = dict(rows)

    async def _customers(self) -> None:
        codes = [*self.plan.customers, GUEST_CODE]
        have = dict(
            await Customer.filter(account_id=self.account_id, code__in=codes).values_list("code", "id")
        )
        for code in codes:
            if code in have:
                continue
            info = self.plan.customers.get(code)
            data = customers.CounterpartyInput(
                name=f"Customer {code}" if info else GUEST_NAME,
                code=code,
                country=info.country if info else "",
                tags=[CUSTOMER_TAG] if info else [CUSTOMER_TAG, "guest"],
                comment="" if info else "Orders of the Online Retail data set that carry no CustomerID.",
            )
            have[code] = (await customers.create_customer(self.actor, data)).id
            self.written["customers created"] += 1
        self.customers = have

    async def _done_already(self) -> None:
        rows = await Order.filter(account_id=self.account_id, channel_id=self.channel_id).values_list(
            "external_id", "id", "number", "total_minor", "refunded_minor"
        )
        payments = dict(
            await Payment.filter(
                account_id=self.account_id, kind=PAYMENT, order__channel_id=self.channel_id
            ).values_list("order_id", "id")
        )
        self.known = {
            ext: _Known(oid, number, payments.get(oid), total, refunded)
            for ext, oid, number, total, refunded in rows
        }
        self.documents = set(
            await StockDocument.filter(
                account_id=self.account_id, reference__startswith=INVOICE_REF
            ).values_list("reference", flat=True)
        )
        refunds = await Event.filter(
            account_id=self.account_id, topic=events.ORDERS, type=OrderEventType.REFUNDED.value
        ).values_list("payload", flat=True)
        self.credit_notes = {
            comment
            for payload in refunds
            if isinstance(comment := (payload or {}).get("comment"), str) and comment.startswith(CREDIT_NOTE)
        }
        for variant_id, on_hand in await StockLevel.filter(
            account_id=self.account_id, warehouse_id=self.warehouse_id
        ).values_list("variant_id", "on_hand_milli"):
            self.on_hand[variant_id] = on_hand

    # --- the history, in batches -------------------------------------------------------------

    def _is_done(self, invoice: InvoicePlan) -> bool:
        if invoice.is_order:
            return invoice.number in self.known
        if invoice.returns:
            return INVOICE_REF + invoice.number in self.documents
        if invoice.refunds:
            return CREDIT_NOTE + invoice.number in self.credit_notes
        if invoice.write_offs or invoice.found:
            return INVOICE_REF + invoice.number in self.documents
        return False

    @staticmethod
    def _has_work(invoice: InvoicePlan) -> bool:
        return bool(
            invoice.is_order or invoice.returns or invoice.refunds or invoice.write_offs or invoice.found
        )

    async def load(self, progress: Progress | None, batch_invoices: int) -> None:
        invoices = self.plan.invoices
        total = len(invoices)
        if progress:
            progress(0, total)
        for start in range(0, total, batch_invoices):
            batch = invoices[start : start + batch_invoices]
            work = [i for i in batch if self._has_work(i)]
            todo = [i for i in work if not self._is_done(i)]
            self.written["invoices with nothing to write (every line rejected)"] += len(batch) - len(work)
            self.written["invoices already imported (skipped)"] += len(work) - len(todo)
            if todo:
                await self._write_batch(todo)
            if progress:
                progress(min(start + batch_invoices, total), total)

    async def _write_batch(self, todo: Sequence[InvoicePlan]) -> None:
        batch = _Batch(self)
        on_hand = dict(self.on_hand)
        async with transaction():
            new_orders = [i for i in todo if i.is_order]
            number = await bulk.take_order_numbers(self.account_id, len(new_orders)) if new_orders else 0
            for invoice in todo:
                if invoice.is_order:
                    batch.order(invoice, number)
                    number += 1
                if invoice.write_offs:
                    batch.document("WRITE_OFF", invoice, invoice.write_offs, -1)
                if invoice.found:
                    batch.document("RECEIPT", invoice, invoice.found, +1, reason="found")
                if invoice.returns:
                    batch.returned_goods(invoice)
                if invoice.refunds:
                    batch.refunds(invoice)
            batch.receipt_for_shortages(todo[0], on_hand)
            await batch.write()
        # Committed: now the in-memory view may move on.
        self.on_hand = defaultdict(int, on_hand)
        self.known.update(batch.known)
        for name, count in batch.counts.items():
            self.written[name] += count
        self.documents |= batch.references
        self.credit_notes |= batch.credit_notes


class _Batch:
    """The rows one batch of invoices adds, built in memory and written in a few statements."""

    def __init__(self, loader: _Loader) -> None:
        self.loader = loader
        self.account_id = loader.account_id
        self.rows: dict[type, list[dict]] = defaultdict(list)
        self.flows: list[tuple[datetime, uuid.UUID, int]] = []  # (when, variant, signed thousandths)
        self.known: dict[str, _Known] = {}
        self.counts: dict[str, int] = defaultdict(int)
        self.references: set[str] = set()
        self.credit_notes: set[str] = set()
        self.refund_updates: dict[str, _Known] = {}
        self.payment_updates: dict[uuid.UUID, int] = {}

    def _base(self, at: datetime) -> dict:
        return {"id": uuid.uuid4(), "account_id": self.account_id, "created_at": at}

    def _lookup(self, number: str) -> _Known | None:
        return self.known.get(number) or self.loader.known.get(number)

    def order(self, invoice: InvoicePlan, number: int) -> None:
        loader = self.loader
        at = utc(invoice.at)
        customer_code = invoice.customer or GUEST_CODE
        customer_id = loader.customers[customer_code]
        total = invoice.total_minor
        spec = orders.PlaceOrder(
            channel_id=loader.channel_id,
            external_id=invoice.number,
            customer=orders.CustomerRef(id=customer_id),
            delivery_address=invoice.country,
            lines=[
                orders.LineSpec(sku=line.code, quantity=line.quantity, price=Decimal(line.price_minor) / 100)
                for line in invoice.order_lines
            ],
        )
        order = self._base(at) | {
            "number": number,
            "channel_id": loader.channel_id,
            "external_id": invoice.number,
            "content_hash": orders.content_hash(spec),
            "customer_id": customer_id,
            "status": OrderStatus.COMPLETED.value,
            "payment_status": payment_status(total, total, 0).value,
            "total_minor": total,
            "paid_minor": total,
            "refunded_minor": 0,
            "delivery_address": invoice.country,
            "confirm_deadline": at + timedelta(minutes=loader.confirm_minutes),
            "confirmed_at": at,
            "shipped_at": at,
            "updated_at": at,
        }
        self.rows[Order].append(order)
        shipment = None
        for position, line in enumerate(invoice.order_lines):
            variant_id = loader.variants[line.code]
            stocked = line.code not in loader.services
            milli = line.quantity * QUANTITY_SCALE
            self.rows[OrderLine].append(
                self._base(at)
                | {
                    "order_id": order["id"],
                    "position": position,
                    "variant_id": variant_id,
                    "warehouse_id": loader.warehouse_id if stocked else None,
                    "unit": "PCS",
                    "quantity_milli": milli,
                    "price_minor": line.price_minor,
                    "total_minor": line.total_minor,
                }
            )
            if stocked:
                if shipment is None:
                    shipment = self._document("SHIPMENT", at, reference=f"order {number}")
                self._document_line(shipment, variant_id, milli, -1)
        steps = [(OrderEventType.CREATED, None, OrderStatus.NEW)]
        steps += [(OrderEventType.STATUS_CHANGED, a, b) for a, b in zip(WORKFLOW, WORKFLOW[1:], strict=False)]
        payment_id = None
        if total > 0:
            payment = self._base(at) | {
                "order_id": order["id"],
                "kind": PAYMENT,
                "method": "ONLINE",
                "amount_minor": total,
                "refunded_minor": 0,
                "actor_id": loader.user_id,
            }
            self.rows[Payment].append(payment)
            payment_id = payment["id"]
        for index, (kind, before, after) in enumerate(steps):
            self._event(order, at + timedelta(microseconds=index), EventSpec(kind, before, after), after)
        if payment_id is not None:
            paid = EventSpec(OrderEventType.PAID, payment_id=payment_id, amount_minor=total)
            self._event(order, at + timedelta(microseconds=len(steps)), paid, OrderStatus.COMPLETED)
        self.known[invoice.number] = _Known(order["id"], number, payment_id, total, 0)
        self.counts["orders written"] += 1
        self.counts["order lines written"] += len(invoice.order_lines)

    def _event(self, order: dict, at: datetime, spec: EventSpec, status: str) -> None:
        """An entry of the order's timeline (the account's event log), as `record_event` writes it."""
        view = SimpleNamespace(
            number=order["number"], status=str(status), channel_id=order["channel_id"], manager_id=None
        )
        self.rows[Event].append(
            self._base(at)
            | {
                "topic": events.ORDERS,
                "type": spec.type.value,
                "order_id": order["id"],
                "actor_user_id": self.loader.user_id,
                "payload": json.dumps(payload_of(view, spec), default=str),  # type: ignore[arg-type]
                "at": at,
            }
        )

    def _document(
        self, kind: str, at: datetime, *, reference: str, reason: str = "", comment: str = ""
    ) -> dict:
        document = self._base(at) | {
            "kind": kind,
            "warehouse_id": self.loader.warehouse_id,
            "reference": reference[:200],
            "reason": reason[:200],
            "comment": comment,
            "author_id": self.loader.user_id,
            "posted_at": at,
            "_lines": 0,
        }
        self.rows[StockDocument].append(document)
        self.counts[f"{kind} documents written"] += 1
        return document

    def _document_line(self, document: dict, variant_id: uuid.UUID, milli: int, sign: int) -> None:
        position = document["_lines"]
        document["_lines"] += 1
        at = document["posted_at"]
        self.rows[StockDocumentLine].append(
            self._base(at)
            | {
                "document_id": document["id"],
                "position": position,
                "variant_id": variant_id,
                "quantity_milli": milli,
            }
        )
        self.rows[StockMovement].append(
            self._base(at)
            | {
                "document_id": document["id"],
                "position": position,
                "warehouse_id": self.loader.warehouse_id,
                "variant_id": variant_id,
                "quantity_milli": sign * milli,
                "unit_cost_minor": 0,
                "posted_at": at,
            }
        )
        self.flows.append((at, variant_id, sign * milli))

    def document(
        self,
        kind: str,
        invoice: InvoicePlan,
        lines: Sequence[tuple[str, int, int]],
        sign: int,
        reason: str = "",
    ) -> None:
        reference = INVOICE_REF + invoice.number
        document = self._document(kind, utc(invoice.at), reference=reference, reason=reason)
        for code, units, _ in lines:
            self._document_line(document, self.loader.variants[code], units * QUANTITY_SCALE, sign)
        self.references.add(reference)

    def returned_goods(self, invoice: InvoicePlan) -> None:
        reference = INVOICE_REF + invoice.number
        matched = sorted({n for r in invoice.returns for n in r.matched_invoices})
        unmatched = sum(r.unmatched for r in invoice.returns)
        comment = "returned from " + (", ".join(matched) if matched else "no earlier invoice in the data")
        if unmatched:
            comment += f"; {unmatched} units with no matching sale"
        document = self._document("RETURN", utc(invoice.at), reference=reference, comment=comment[:2000])
        for item in invoice.returns:
            self._document_line(document, self.loader.variants[item.code], item.quantity * QUANTITY_SCALE, +1)
        self.references.add(reference)

    def refunds(self, invoice: InvoicePlan) -> None:
        at = utc(invoice.at)
        note = CREDIT_NOTE + invoice.number
        for index, refund in enumerate(invoice.refunds):
            target = self._lookup(refund.invoice)
            if target is None or target.payment_id is None:
                self.counts["refunds whose order was not imported"] += 1
                continue
            target = self.refund_updates.setdefault(refund.invoice, _copy(target))
            target.refunded += refund.amount_minor
            self.payment_updates[target.payment_id] = target.refunded
            row = self._base(at + timedelta(microseconds=index)) | {
                "order_id": target.order_id,
                "kind": REFUND,
                "method": "ONLINE",
                "amount_minor": refund.amount_minor,
                "refunded_minor": 0,
                "refund_of_id": target.payment_id,
                "actor_id": self.loader.user_id,
            }
            self.rows[Payment].append(row)
            spec = EventSpec(
                OrderEventType.REFUNDED, payment_id=row["id"], amount_minor=refund.amount_minor, comment=note
            )
            order = {"id": target.order_id, "number": target.number, "channel_id": self.loader.channel_id}
            self._event(order, at + timedelta(microseconds=index), spec, OrderStatus.COMPLETED)
            self.counts["refunds written"] += 1
        self.credit_notes.add(note)

    def receipt_for_shortages(self, first: InvoicePlan, on_hand: dict[uuid.UUID, int]) -> None:
        """Walks the batch's movements in time order; what would go below zero is received first."""
        needed: dict[uuid.UUID, int] = defaultdict(int)
        for _, variant_id, delta in sorted(self.flows, key=lambda f: f[0]):
            level = on_hand.get(variant_id, 0) + delta
            if level < 0:
                needed[variant_id] += -level
                level = 0
            on_hand[variant_id] = level
        if not needed:
            return
        at = utc(first.at) - timedelta(minutes=1)
        document = self._document(
            "RECEIPT",
            at,
            reference=RECEIPT_REF + first.number,
            reason="stock for the imported sales",
            comment="Posted by the Online Retail import so that no shipment drives stock below zero.",
        )
        for variant_id in sorted(needed):
            self._document_line(document, variant_id, needed[variant_id], +1)

    async def write(self) -> None:
        for model in (Order, OrderLine, Payment, StockDocument, StockDocumentLine, StockMovement):
            rows = self.rows.get(model, [])
            if model is StockDocument:
                rows = [{k: v for k, v in r.items() if k != "_lines"} for r in rows]
            await bulk.insert_rows(model, rows)
        now = datetime.now(UTC)
        await bulk.execute_many(
            f'UPDATE "{Order._meta.db_table}" SET refunded_minor = $1, payment_status = $2, updated_at = $3 '
            "WHERE id = $4 AND account_id = $5",
            [
                (
                    k.refunded,
                    payment_status(k.total, k.total, k.refunded).value,
                    now,
                    k.order_id,
                    self.account_id,
                )
                for k in self.refund_updates.values()
            ],
        )
        await bulk.execute_many(
            f'UPDATE "{Payment._meta.db_table}" SET refunded_minor = $1 WHERE id = $2 AND account_id = $3',
            [(refunded, pid, self.account_id) for pid, refunded in self.payment_updates.items()],
        )
        deltas: dict[uuid.UUID, int] = defaultdict(int)
        for movement in self.rows.get(StockMovement, []):
            deltas[movement["variant_id"]] += movement["quantity_milli"]
        await bulk.add_to_stock_levels(self.account_id, self.loader.warehouse_id, deltas, now)
        # The timeline last: positions in the account's log are taken under the account row's lock.
        await bulk.append_to_event_log(self.account_id, self.rows.get(Event, []))
        for number, target in self.refund_updates.items():
            self.known[number] = target


def _copy(known: _Known) -> _Known:
    return _Known(known.order_id, known.number, known.payment_id, known.total, known.refunded)


def _retail_price(product: ProductInfo) -> list[catalog.PriceSpec]:
    """The catalog price of an imported product: the last price it sold at, so new orders have one."""
    if product.is_service or product.last_price is None:
        return []
    return [catalog.PriceSpec("RETAIL", product.last_price)]
