"""Fiscal receipts (54-FZ): one per payment (sell) and refund (sell_refund), submitted by jobs.

The receipt is written in the payment's own transaction (`create_receipt_for_payment`) and its
submission enqueued after commit. The submit job posts it to the account's fiscal provider with
our id as `external_id` (the provider's idempotency key: posting it again answers the receipt
already there), records the provider's uuid, and the poll jobs ask for the report until it is
`done` (the fiscal attributes are kept) or `fail` (the error is kept).

Sums are exact to the kopeck: each line's sum is price × quantity rounded once (half up); when the
payment is less than the lines add up to (an order-level discount, a part payment) the difference
is spread over the lines in proportion to their sums, the leftover kopecks going to the lines with
the largest remainders, so the receipt's total equals the payment exactly. VAT is computed per
line. Item names are cut to the 128 characters the provider accepts.
"""

from __future__ import annotations

import enum
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from tortoise.expressions import F

from models.accounts import Account
from models.catalog import Product, Variant
from models.customers import Customer
from models.fiscal import AccountFiscalSettings, Receipt
from models.orders import Order, OrderLine, Payment
from services import queue
from services.access import Actor, Permission
from services.amounts import QUANTITY_SCALE, currency_exponent
from services.db import get_owned, transaction
from services.errors import InvalidInput, ProblemList
from services.fiscal_provider import AtolClient, ProviderRefused
from services.order_records import page_of_order_records
from services.order_timeline import EventSpec, OrderEventType, record_event
from services.pagination import Page
from services.validation import clean_text, is_email

try:  # the live-feeds domain; until it lands, the rows are the only record
    from services import events as event_log
except ImportError:  # pragma: no cover - goes once services/events.py is in the tree
    event_log = None  # type: ignore[assignment]

log = logging.getLogger("backoffice.fiscal")

TOPIC = "fiscal"
MAX_ITEM_NAME = 128
# Seconds before the first report poll; each later poll waits twice as long, up to POLL_CAP_SECONDS.
POLL_DELAY_SECONDS = 2.0
POLL_CAP_SECONDS = 60.0
MAX_POLLS = 60


class ReceiptKind(enum.StrEnum):
    SELL = "sell"
    SELL_REFUND = "sell_refund"


class ReceiptStatus(enum.StrEnum):
    PENDING = "PENDING"
    SUBMITTED = "SUBMITTED"
    DONE = "DONE"
    FAILED = "FAILED"


TAX_SYSTEMS = ("osn", "usn_income", "usn_income_outcome", "envd", "esn", "patent")
VAT_TYPES = ("none", "vat0", "vat5", "vat7", "vat10", "vat18", "vat20", "vat22")
# The rate in percent of each VAT type; the tax in a line's sum is sum × rate / (100 + rate).
VAT_PERCENT = {"none": 0, "vat0": 0, "vat5": 5, "vat7": 7, "vat10": 10, "vat18": 18, "vat20": 20, "vat22": 22}


# --- settings ---------------------------------------------------------------------------------------


@dataclass
class FiscalSettingsInput:
    tax_id: str
    tax_system: str
    payment_address: str
    company_email: str
    provider_url: str
    group_code: str
    login: str
    password: str | None = None
    default_vat: str | None = None
    enabled: bool | None = None


async def get_fiscal_settings(actor: Actor) -> AccountFiscalSettings | None:
    actor.require(Permission.SETTINGS_MANAGE)
    return await AccountFiscalSettings.filter(account_id=actor.account_id).first()


async def update_fiscal_settings(actor: Actor, data: FiscalSettingsInput) -> AccountFiscalSettings:
    actor.require(Permission.SETTINGS_MANAGE)
    problems = ProblemList()
    tax_id = clean_text(problems, data.tax_id, ["taxId"], max_length=12, required=True)
    if tax_id and not re.fullmatch(r"\d{10}|\d{12}", tax_id):
        problems.add(["taxId"], "INVALID", "a tax id (INN) is 10 or 12 digits")
    if data.tax_system not in TAX_SYSTEMS:
        problems.add(["taxSystem"], "INVALID", f"taxSystem is one of {', '.join(TAX_SYSTEMS)}")
    address = clean_text(problems, data.payment_address, ["paymentAddress"], max_length=256, required=True)
    email = clean_text(problems, data.company_email, ["companyEmail"], max_length=64, required=True).lower()
    if email and not is_email(email):
        problems.add(["companyEmail"], "INVALID_EMAIL", "companyEmail is not an email address")
    url = clean_text(problems, data.provider_url, ["providerUrl"], max_length=500, required=True).rstrip("/")
    if url and not re.match(r"^https?://[^\s/]+", url):
        problems.add(["providerUrl"], "INVALID_URL", "providerUrl must be an http(s) URL")
    group = clean_text(problems, data.group_code, ["groupCode"], max_length=100, required=True)
    login = clean_text(problems, data.login, ["login"], max_length=100, required=True)
    vat = (data.default_vat or "none").lower()
    if vat not in VAT_TYPES:
        problems.add(["defaultVat"], "INVALID", f"defaultVat is one of {', '.join(VAT_TYPES)}")
    async with transaction():
        row = await AccountFiscalSettings.filter(account_id=actor.account_id).select_for_update().first()
        if row is None and not data.password:
            problems.add(["password"], "REQUIRED", "the provider's password is needed")
        problems.raise_if_any()
        if row is None:
            row = AccountFiscalSettings(id=uuid.uuid4(), account_id=actor.account_id)
        credentials_changed = (url, login) != (row.provider_url, row.login) or bool(data.password)
        row.tax_id, row.tax_system, row.payment_address, row.company_email = (
            tax_id,
            data.tax_system,
            address,
            email,
        )
        row.provider_url, row.group_code, row.login, row.default_vat = url, group, login, vat
        if data.password:
            row.password = data.password
        if data.enabled is not None:
            row.enabled = data.enabled
        if credentials_changed:
            row.token, row.token_expires_at = "", None
        await row.save()
    return row


# --- building the lines ----------------------------------------------------------------------------------


def check_payment_currency(account_currency: str, currency: str | None) -> None:
    """A payment is in the account's currency: fiscal receipts and totals know no other."""
    if currency is not None and currency.strip().upper() != account_currency.upper():
        raise InvalidInput.one(
            ["currency"],
            "CURRENCY_MISMATCH",
            f"the account takes payments in {account_currency}, not {currency.strip().upper()[:3]}",
        )


@dataclass(frozen=True)
class SourceLine:
    name: str
    price_minor: int
    quantity_milli: int
    vat: str = "none"
    payment_object: str = "commodity"


@dataclass(frozen=True)
class ReceiptItem:
    name: str
    price_minor: int
    quantity_milli: int
    sum_minor: int
    vat: str
    vat_minor: int
    payment_method: str
    payment_object: str


def _half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, in integers (no floats)."""
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def line_sum(price_minor: int, quantity_milli: int) -> int:
    """price × quantity, rounded once to the minor unit."""
    return _half_up(price_minor * quantity_milli, QUANTITY_SCALE)


def vat_of(sum_minor: int, vat: str) -> int:
    rate = VAT_PERCENT.get(vat, 0)
    return _half_up(sum_minor * rate, 100 + rate) if rate else 0


def spread(sums: Sequence[int], target: int) -> list[int]:
    """The line sums lowered so that they add up to `target` exactly: the difference is shared in
    proportion to each sum, leftover minor units to the largest remainders (then the first lines)."""
    base = sum(sums)
    if target > base:
        raise InvalidInput.one(
            ["amount"], "OVER_TOTAL", "the payment is more than the order's lines add up to"
        )
    if target < 0:
        raise InvalidInput.one(["amount"], "NEGATIVE", "the payment is negative")
    discount = base - target
    if discount == 0 or base == 0:
        return list(sums)
    cuts = [discount * s // base for s in sums]
    remainders = [(discount * s % base, -index) for index, s in enumerate(sums)]
    left = discount - sum(cuts)
    for _, negative_index in sorted(remainders, reverse=True)[:left]:
        cuts[-negative_index] += 1
    return [s - c for s, c in zip(sums, cuts, strict=True)]


def trim_name(name: str) -> str:
    text = " ".join(name.split())
    return text[:MAX_ITEM_NAME].rstrip() or "—"


def build_items(lines: Sequence[SourceLine], amount_minor: int, payment_method: str) -> list[ReceiptItem]:
    """Receipt items whose sums add up to `amount_minor` exactly; lines spread down to zero are left out."""
    if not lines:
        raise InvalidInput.one(["orderId"], "NO_LINES", "the order has no lines to put on a receipt")
    sums = spread([line_sum(x.price_minor, x.quantity_milli) for x in lines], amount_minor)
    items = [
        ReceiptItem(
            name=trim_name(line.name),
            price_minor=line.price_minor,
            quantity_milli=line.quantity_milli,
            sum_minor=total,
            vat=line.vat,
            vat_minor=vat_of(total, line.vat),
            payment_method=payment_method,
            payment_object=line.payment_object,
        )
        for line, total in zip(lines, sums, strict=True)
        if total > 0
    ]
    assert sum(i.sum_minor for i in items) == amount_minor
    return items


# --- creating a receipt (inside the payment's transaction) -------------------------------------------


def _payment_method(order: Order, amount_minor: int) -> str:
    """54-FZ's 'payment method' of the lines: paid in full or in part, before or after shipping."""
    if order.shipped_at is not None:
        return "full_payment"
    return "full_prepayment" if amount_minor >= order.total_minor else "prepayment"


def _variant_name(product: Product, variant: Variant) -> str:
    values = [str(c.get("value", "")) for c in (variant.characteristics or []) if c.get("value")]
    return f"{product.name} ({', '.join(values)})" if values else product.name


async def _source_lines(order: Order, default_vat: str) -> list[SourceLine]:
    lines = await OrderLine.filter(account_id=order.account_id, order_id=order.id).order_by("position")
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
    result = []
    for line in lines:
        variant = variants[line.variant_id]
        product = products[variant.product_id]
        vat = (product.vat_rate or "").lower()
        result.append(
            SourceLine(
                name=_variant_name(product, variant),
                price_minor=line.price_minor,
                quantity_milli=line.quantity_milli,
                vat=vat if vat in VAT_TYPES and vat != "none" else default_vat,
                payment_object="service" if product.is_service else "commodity",
            )
        )
    return result


async def create_receipt_for_payment(
    account_id: uuid.UUID, payment_id: uuid.UUID, *, kind: str = ReceiptKind.SELL
) -> Receipt | None:
    """The receipt of a payment (`sell`) or a refund (`sell_refund`), written now and submitted
    after the surrounding transaction commits. Call it inside the payment's transaction. None when
    the account has no fiscal settings; the existing receipt when there is one already."""
    if kind not in (ReceiptKind.SELL, ReceiptKind.SELL_REFUND):
        raise ValueError(f"unknown receipt kind {kind!r}")
    settings = await AccountFiscalSettings.filter(account_id=account_id, enabled=True).first()
    if settings is None:
        return None
    async with transaction():
        existing = await Receipt.filter(account_id=account_id, payment_id=payment_id, kind=kind).first()
        if existing is not None:
            return existing
        payment = await Payment.get(id=payment_id, account_id=account_id)
        order = await Order.get(id=payment.order_id, account_id=account_id)
        account = await Account.get(id=account_id)
        customer = await Customer.filter(id=order.customer_id, account_id=account_id).first()
        problem = ""
        try:
            items = build_items(
                await _source_lines(order, settings.default_vat),
                payment.amount_minor,
                _payment_method(order, payment.amount_minor),
            )
        except InvalidInput as exc:  # never refuse the payment for its receipt: show the receipt failed
            items, problem = [], str(exc)
        email = customer.emails[0] if customer and customer.emails else ""
        phone = customer.phones[0] if customer and customer.phones and not email else ""
        receipt = Receipt(
            id=uuid.uuid4(),
            account_id=account_id,
            payment_id=payment.id,
            order_id=order.id,
            kind=kind,
            total_minor=payment.amount_minor,
            currency=account.currency,
            payment_type=0 if payment.method == "CASH" else 1,
            customer_email=email[:64],
            customer_phone=phone[:19],
            company={
                "inn": settings.tax_id,
                "sno": settings.tax_system,
                "payment_address": settings.payment_address,
                "email": settings.company_email,
            },
            items=[item.__dict__ for item in items],
        )
        if not email and not phone:
            problem = "the customer has neither an email nor a phone to send the receipt to"
        if problem:
            receipt.status = ReceiptStatus.FAILED
            receipt.error_text = problem
        await receipt.save()
        if receipt.status == ReceiptStatus.PENDING:
            queue.enqueue_after_commit(
                "fiscal.submit", str(receipt.id), 0, job_id=_submit_job_id(receipt.id, 0)
            )
        else:
            await _publish(receipt, "RECEIPT_FAILED")
    return receipt


def _submit_job_id(receipt_id: object, generation: int) -> str:
    return f"receipt:{receipt_id}:submit:{generation}"


def _poll_job_id(receipt_id: object, polls: int) -> str:
    return f"receipt:{receipt_id}:poll:{polls}"


def _money(minor: int, currency: str) -> float:
    """A JSON number of the currency's units; exact for any sum we build (at most 13 digits)."""
    return float(Decimal(minor).scaleb(-currency_exponent(currency)))


def provider_receipt(receipt: Receipt) -> dict:
    """The receipt as the provider's API takes it."""
    currency = receipt.currency
    client = (
        {"email": receipt.customer_email} if receipt.customer_email else {"phone": receipt.customer_phone}
    )
    items = []
    for item in receipt.items:
        quantity = (Decimal(item["quantity_milli"]) / QUANTITY_SCALE).quantize(
            Decimal("0.001"), ROUND_HALF_UP
        )
        entry = {
            "name": item["name"],
            "price": _money(item["price_minor"], currency),
            "quantity": float(quantity),
            "sum": _money(item["sum_minor"], currency),
            "payment_method": item["payment_method"],
            "payment_object": item["payment_object"],
            "vat": {"type": item["vat"]},
        }
        if VAT_PERCENT.get(item["vat"]):
            entry["vat"]["sum"] = _money(item["vat_minor"], currency)
        items.append(entry)
    return {
        "client": client,
        "company": receipt.company,
        "items": items,
        "payments": [{"type": receipt.payment_type, "sum": _money(receipt.total_minor, currency)}],
        "total": _money(receipt.total_minor, currency),
    }


# --- reading and retrying ------------------------------------------------------------------------------


async def get_receipt(actor: Actor, receipt_id: object, field_path: Sequence[str] = ("id",)) -> Receipt:
    actor.require(Permission.ORDERS_READ)
    return await get_owned(Receipt, actor, receipt_id, field=field_path, what="receipt")


async def list_receipts(
    actor: Actor, *, order_id: object | None, status: str | None, first: int | None, after: str | None
) -> Page[Receipt]:
    return await page_of_order_records(
        Receipt, actor, order_id=order_id, status=status, first=first, after=after
    )


async def retry_receipt(actor: Actor, receipt_id: object) -> Receipt:
    """Submits a FAILED receipt again (under the same external_id: the provider cannot count it twice)."""
    actor.require(Permission.ORDERS_WRITE)
    async with transaction():
        receipt = await get_owned(
            Receipt, actor, receipt_id, field=["receiptId"], what="receipt", for_update=True
        )
        if receipt.status != ReceiptStatus.FAILED:
            raise InvalidInput.one(
                ["receiptId"], "NOT_FAILED", f"the receipt is {receipt.status}, not FAILED"
            )
        if not receipt.customer_email and not receipt.customer_phone or not receipt.items:
            raise InvalidInput.one(["receiptId"], "CANNOT_RETRY", receipt.error_text)
        receipt.generation += 1
        receipt.error_code, receipt.error_text = None, ""
        if receipt.provider_uuid and receipt.fiscal_document_number is None and receipt.polls < MAX_POLLS:
            receipt.status = ReceiptStatus.SUBMITTED
            await receipt.save()
            queue.enqueue_after_commit(
                "fiscal.poll", str(receipt.id), receipt.polls, job_id=_poll_job_id(receipt.id, receipt.polls)
            )
        else:
            receipt.status = ReceiptStatus.PENDING
            receipt.provider_uuid = ""
            await receipt.save()
            queue.enqueue_after_commit(
                "fiscal.submit",
                str(receipt.id),
                receipt.generation,
                job_id=_submit_job_id(receipt.id, receipt.generation),
            )
    return receipt


# --- the jobs ---------------------------------------------------------------------------------------


async def _publish(receipt: Receipt, type_: str) -> None:
    """Tells of a receipt's end: a failure goes to the order's timeline (and so to its managers'
    live feed); both go to the account's `fiscal` feed once the live-feeds log knows that topic."""
    if type_ == "RECEIPT_FAILED":
        order = await Order.filter(id=receipt.order_id, account_id=receipt.account_id).first()
        if order is not None:
            text = f"Fiscal receipt ({receipt.kind}) of payment {receipt.payment_id} failed: "
            text += receipt.error_text
            await record_event(order, None, EventSpec(OrderEventType.COMMENTED, comment=text[:2000]))
    if event_log is not None and TOPIC in getattr(event_log, "TOPICS", ()):
        await event_log.record(
            receipt.account_id,
            topic=TOPIC,
            type=type_,
            payload={
                "receipt_id": str(receipt.id),
                "order_id": str(receipt.order_id),
                "status": receipt.status,
                "error": receipt.error_text or None,
            },
            order_id=receipt.order_id,
        )


def _client(settings: AccountFiscalSettings) -> AtolClient:
    async def save_token(token: str, expires_at: datetime) -> None:
        await AccountFiscalSettings.filter(id=settings.id).update(token=token, token_expires_at=expires_at)

    return AtolClient(
        settings.provider_url,
        settings.group_code,
        settings.login,
        settings.password,
        token=settings.token,
        token_expires_at=settings.token_expires_at,
        save_token=save_token,
    )


async def _fail(receipt_id: object, error_code: int | None, error_text: str, *, only: Sequence[str]) -> None:
    async with transaction():
        changed = await Receipt.filter(id=receipt_id, status__in=list(only)).update(
            status=ReceiptStatus.FAILED, error_code=error_code, error_text=error_text[:2000]
        )
        if changed:
            await _publish(await Receipt.get(id=receipt_id), "RECEIPT_FAILED")


async def _submit_failed(receipt_id: str, generation: int, *, error: str) -> None:
    await _fail(receipt_id, None, error, only=[ReceiptStatus.PENDING])


async def _poll_failed(receipt_id: str, polls: int, *, error: str) -> None:
    await _fail(receipt_id, None, f"could not get the report: {error}", only=[ReceiptStatus.SUBMITTED])


@queue.job("fiscal.submit", on_failure=_submit_failed)
async def submit_receipt(receipt_id: str, generation: int) -> str:
    """Posts a PENDING receipt. The attempt is counted before the post and the uuid kept after it;
    a retry after a crash between the two posts the same external_id, which the provider answers
    with the receipt it already has."""
    receipt = await Receipt.filter(id=receipt_id).first()
    if receipt is None or receipt.status != ReceiptStatus.PENDING or receipt.generation != generation:
        return "stale"
    settings = await AccountFiscalSettings.filter(account_id=receipt.account_id).first()
    if settings is None:
        await _fail(receipt.id, None, "the account has no fiscal settings", only=[ReceiptStatus.PENDING])
        return "failed"
    await Receipt.filter(id=receipt.id, status=ReceiptStatus.PENDING).update(
        submit_attempts=F("submit_attempts") + 1
    )
    client = _client(settings)
    try:
        answer = await client.register(receipt.kind, str(receipt.id), provider_receipt(receipt))
    except ProviderRefused as exc:
        await _fail(receipt.id, exc.code, exc.text or str(exc), only=[ReceiptStatus.PENDING])
        return "refused"
    finally:
        await client.close()
    async with transaction():
        changed = await Receipt.filter(
            id=receipt.id, status=ReceiptStatus.PENDING, generation=generation
        ).update(
            status=ReceiptStatus.SUBMITTED, provider_uuid=answer.uuid, submitted_at=datetime.now(UTC), polls=0
        )
        if changed:
            queue.enqueue_after_commit(
                "fiscal.poll",
                str(receipt.id),
                0,
                job_id=_poll_job_id(receipt.id, 0),
                defer_by=POLL_DELAY_SECONDS,
            )
    return answer.uuid


@queue.job("fiscal.poll", on_failure=_poll_failed)
async def poll_receipt(receipt_id: str, polls: int) -> str:
    """Asks for a SUBMITTED receipt's report: `done` keeps the fiscal attributes, `fail` the error,
    `wait` asks again later (each wait twice as long, up to a minute; at most MAX_POLLS times)."""
    receipt = await Receipt.filter(id=receipt_id).first()
    if receipt is None or receipt.status != ReceiptStatus.SUBMITTED or receipt.polls != polls:
        return "stale"
    settings = await AccountFiscalSettings.filter(account_id=receipt.account_id).first()
    if settings is None:
        await _fail(receipt.id, None, "the account has no fiscal settings", only=[ReceiptStatus.SUBMITTED])
        return "failed"
    client = _client(settings)
    try:
        answer = await client.report(receipt.provider_uuid)
    except ProviderRefused as exc:
        await _fail(receipt.id, exc.code, exc.text or str(exc), only=[ReceiptStatus.SUBMITTED])
        return "refused"
    finally:
        await client.close()
    if answer.status == "done":
        p = answer.payload
        async with transaction():
            changed = await Receipt.filter(id=receipt.id, status=ReceiptStatus.SUBMITTED).update(
                status=ReceiptStatus.DONE,
                done_at=datetime.now(UTC),
                fiscal_document_number=_int(p.get("fiscal_document_number")),
                fiscal_document_attribute=_int(p.get("fiscal_document_attribute")),
                fiscal_receipt_number=_int(p.get("fiscal_receipt_number")),
                fn_number=str(p.get("fn_number") or "")[:32],
                shift_number=_int(p.get("shift_number")),
                receipt_datetime=str(p.get("receipt_datetime") or "")[:32],
                ecr_registration_number=str(p.get("ecr_registration_number") or "")[:32],
                fns_site=str(p.get("fns_site") or "")[:256],
                error_code=None,
                error_text="",
            )
            if changed:
                await _publish(await Receipt.get(id=receipt.id), "RECEIPT_DONE")
        return "done"
    if answer.status == "fail":
        await _fail(
            receipt.id,
            answer.error_code,
            answer.error_text or "the provider failed the receipt",
            only=[ReceiptStatus.SUBMITTED],
        )
        return "fail"
    if polls + 1 >= MAX_POLLS:
        await _fail(receipt.id, None, f"no report after {MAX_POLLS} polls", only=[ReceiptStatus.SUBMITTED])
        return "gave up"
    async with transaction():
        changed = await Receipt.filter(id=receipt.id, status=ReceiptStatus.SUBMITTED, polls=polls).update(
            polls=polls + 1
        )
        if changed:
            queue.enqueue_after_commit(
                "fiscal.poll",
                str(receipt.id),
                polls + 1,
                job_id=_poll_job_id(receipt.id, polls + 1),
                defer_by=min(POLL_CAP_SECONDS, POLL_DELAY_SECONDS * 2 ** (polls + 1)),
            )
    return "wait"


def _int(value: object) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


async def sweep_receipts() -> int:
    """Enqueues what receipt rows still wait for: a submission, or the next poll."""
    count = 0
    for receipt_id, generation in await Receipt.filter(status=ReceiptStatus.PENDING).values_list(
        "id", "generation"
    ):
        count += await queue.enqueue(
            "fiscal.submit", str(receipt_id), generation, job_id=_submit_job_id(receipt_id, generation)
        )
    for receipt_id, polls in await Receipt.filter(status=ReceiptStatus.SUBMITTED).values_list("id", "polls"):
        count += await queue.enqueue(
            "fiscal.poll", str(receipt_id), polls, job_id=_poll_job_id(receipt_id, polls)
        )
    return count


queue.register_sweeper("fiscal", sweep_receipts)
