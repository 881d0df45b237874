"""Campaigns: an email or SMS template sent to a filtered set of customers, in batches, by jobs.

Sending fixes the recipients as `CampaignMessage` rows (the delivery records, one per customer per
campaign by a unique key) in the same transaction that marks the campaign SENDING; the batch jobs
are enqueued after commit, with ids derived from campaign and batch. A batch job marks each message
SENDING before it goes out and SENT after, with the customer's timeline event in that confirming
transaction, so a retried or restarted batch skips what was sent. A message left SENDING by a
worker that died mid-send goes out again with the same Message-ID (or the same gateway id for
SMS), which the receiving side uses to drop the duplicate.

Customers without consent for the channel, or without an address, are SKIPPED; every message
carries an unsubscribe token that `unsubscribe` (the public /unsubscribe/<token> page) honours.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import math
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage
from email.utils import formataddr, formatdate

import aiosmtplib
import httpx
from tortoise.expressions import F
from tortoise.functions import Count

from models.accounts import Account
from models.campaigns import Campaign, CampaignMessage, CustomerEvent, MessagingSettings
from models.customers import Customer
from services import queue
from services.access import Actor, Permission
from services.amounts import money_to_minor
from services.db import get_owned, parse_id, transaction
from services.errors import InvalidInput, NotFound, ProblemList
from services.pagination import Page, paginate
from services.validation import clean_text, is_email

try:  # the live-feeds domain; until it lands, the rows are the only record
    from services import events as event_log
except ImportError:  # pragma: no cover - goes once services/events.py is in the tree
    event_log = None  # type: ignore[assignment]

log = logging.getLogger("backoffice.campaigns")

TOPIC = "campaigns"
MAX_BATCH_SIZE = 1000
DEFAULT_BATCH_SIZE = 100
SEND_TIMEOUT_SECONDS = 15.0
# Where unsubscribe links point when the account has not set its public address.
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
SMS_UNSUBSCRIBE = "\nStop: {url}"


class Channel(enum.StrEnum):
    EMAIL = "EMAIL"
    SMS = "SMS"


class CampaignStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    SENDING = "SENDING"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class MessageStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    SENDING = "SENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


class CustomerEventType(enum.StrEnum):
    MESSAGE_SENT = "MESSAGE_SENT"
    UNSUBSCRIBED = "UNSUBSCRIBED"


OPEN = (MessageStatus.QUEUED, MessageStatus.SENDING)


# --- the account's sending settings ------------------------------------------------------------------


@dataclass
class MessagingSettingsInput:
    """None leaves a setting as it is."""

    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_security: str | None = None
    from_email: str | None = None
    from_name: str | None = None
    sms_gateway_url: str | None = None
    sms_gateway_key: str | None = None
    sms_sender: str | None = None
    sms_max_length: int | None = None
    public_url: str | None = None


SMTP_SECURITY = ("NONE", "STARTTLS", "TLS")


async def _settings_of(account_id: uuid.UUID) -> MessagingSettings:
    row = await MessagingSettings.filter(account_id=account_id).first()
    return row or MessagingSettings(id=uuid.uuid4(), account_id=account_id)


async def get_messaging_settings(actor: Actor) -> MessagingSettings:
    actor.require(Permission.SETTINGS_MANAGE)
    return await _settings_of(actor.account_id)


def _clean_url(problems: ProblemList, value: str, field_name: str) -> str:
    text = clean_text(problems, value, [field_name], max_length=500)
    if text and not re.match(r"^https?://[^\s/]+", text):
        problems.add([field_name], "INVALID_URL", f"{field_name} must be an http(s) URL")
    return text.rstrip("/")


async def update_messaging_settings(actor: Actor, data: MessagingSettingsInput) -> MessagingSettings:
    actor.require(Permission.SETTINGS_MANAGE)
    problems = ProblemList()
    values: dict[str, object] = {}
    for name, limit in (
        ("smtp_host", 255),
        ("smtp_username", 255),
        ("smtp_password", 255),
        ("from_name", 200),
        ("sms_gateway_key", 255),
        ("sms_sender", 32),
    ):
        if getattr(data, name) is not None:
            values[name] = clean_text(problems, getattr(data, name), [_camel(name)], max_length=limit)
    if data.smtp_port is not None:
        if not 1 <= data.smtp_port <= 65535:
            problems.add(["smtpPort"], "INVALID", "smtpPort is between 1 and 65535")
        values["smtp_port"] = data.smtp_port
    if data.smtp_security is not None:
        if data.smtp_security not in SMTP_SECURITY:
            problems.add(["smtpSecurity"], "INVALID", f"smtpSecurity is one of {', '.join(SMTP_SECURITY)}")
        values["smtp_security"] = data.smtp_security
    if data.from_email is not None:
        email = data.from_email.strip().lower()
        if email and not is_email(email):
            problems.add(["fromEmail"], "INVALID_EMAIL", "fromEmail is not an email address")
        values["from_email"] = email
    if data.sms_max_length is not None:
        if not 70 <= data.sms_max_length <= 2000:
            problems.add(["smsMaxLength"], "INVALID", "smsMaxLength is between 70 and 2000")
        values["sms_max_length"] = data.sms_max_length
    if data.sms_gateway_url is not None:
        values["sms_gateway_url"] = _clean_url(problems, data.sms_gateway_url, "smsGatewayUrl")
    if data.public_url is not None:
        values["public_url"] = _clean_url(problems, data.public_url, "publicUrl")
    problems.raise_if_any()
    async with transaction():
        row = await MessagingSettings.filter(account_id=actor.account_id).select_for_update().first()
        if row is None:
            row = MessagingSettings(id=uuid.uuid4(), account_id=actor.account_id)
        for key, value in values.items():
            setattr(row, key, value)
        await row.save()
    return row


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# --- templates --------------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
TEMPLATE_FIELDS = ("name", "first_name", "code", "email", "phone", "country", "unsubscribe_url")


def check_template(problems: ProblemList, text: str, field_path: Sequence[str]) -> None:
    """Records every placeholder the template uses that is not a customer field."""
    for found in PLACEHOLDER.finditer(text):
        if found.group(1) not in TEMPLATE_FIELDS:
            problems.add(
                field_path,
                "UNKNOWN_PLACEHOLDER",
                f"unknown placeholder {{{{{found.group(1)[:40]}}}}}: use one of {', '.join(TEMPLATE_FIELDS)}",
            )


def render(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), text)


def customer_fields(customer: Customer, unsubscribe_url: str) -> dict[str, str]:
    return {
        "name": customer.name,
        "first_name": customer.name.split()[0] if customer.name.split() else "",
        "code": customer.code or "",
        "email": customer.emails[0] if customer.emails else "",
        "phone": customer.phones[0] if customer.phones else "",
        "country": customer.country,
        "unsubscribe_url": unsubscribe_url,
    }


# --- audiences ---------------------------------------------------------------------------------------


@dataclass
class AudienceInput:
    """Who a campaign goes to: every condition given must hold (none given: every customer)."""

    tags: list[str] = field(default_factory=list)
    country: str | None = None
    customer_ids: list[object] | None = None
    last_order_before: datetime | None = None
    last_order_after: datetime | None = None
    total_sales_above: Decimal | str | None = None
    total_sales_below: Decimal | str | None = None


MAX_EXPLICIT = 10000


async def _clean_audience(actor: Actor, data: AudienceInput, currency: str) -> dict[str, object]:
    problems = ProblemList()
    audience: dict[str, object] = {}
    tags = [t.strip().lower() for t in data.tags if t and t.strip()]
    if len(tags) > 20:
        problems.add(["audience", "tags"], "TOO_MANY", "at most 20 tags")
    if tags:
        audience["tags"] = tags
    if data.country and data.country.strip():
        audience["country"] = clean_text(problems, data.country, ["audience", "country"], max_length=100)
    for name in ("last_order_before", "last_order_after"):
        moment = getattr(data, name)
        if moment is not None:
            if moment.tzinfo is None:
                problems.add(["audience", _camel(name)], "NO_TIME_ZONE", "give the time with a time zone")
            else:
                audience[name] = moment.astimezone(UTC).isoformat()
    for name in ("total_sales_above", "total_sales_below"):
        amount = getattr(data, name)
        if amount is not None:
            try:
                audience[name] = money_to_minor(amount, currency, ["audience", _camel(name)])
            except InvalidInput as exc:
                problems.problems.extend(exc.problems)
    problems.raise_if_any()
    if data.customer_ids is not None:
        if not data.customer_ids:
            raise InvalidInput.one(["audience", "customerIds"], "EMPTY_SEGMENT", "the customer list is empty")
        if len(data.customer_ids) > MAX_EXPLICIT:
            raise InvalidInput.one(
                ["audience", "customerIds"], "TOO_MANY", f"at most {MAX_EXPLICIT} customers in a list"
            )
        ids = list(
            dict.fromkeys(parse_id(c, ["audience", "customerIds"], "customer") for c in data.customer_ids)
        )
        known = 0
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            known += await Customer.filter(account_id=actor.account_id, id__in=chunk).count()
        if known != len(ids):
            raise NotFound(["audience", "customerIds"], "customer")
        audience["customer_ids"] = [str(i) for i in ids]
    return audience


async def audience_customers(account_id: uuid.UUID, audience: dict) -> list[Customer]:
    """The customers matching an audience, in a stable order."""
    query = Customer.filter(account_id=account_id)
    for tag in audience.get("tags", []):
        query = query.filter(tags_key__contains=f",{tag},")
    if audience.get("country"):
        query = query.filter(country=audience["country"])
    explicit = audience.get("customer_ids")
    if explicit is not None:
        found: list[Customer] = []
        for start in range(0, len(explicit), 1000):
            found += await query.filter(id__in=[uuid.UUID(i) for i in explicit[start : start + 1000]])
        customers = sorted(found, key=lambda c: str(c.id))
    else:
        customers = list(await query.order_by("id"))
    metric_keys = ("last_order_before", "last_order_after", "total_sales_above", "total_sales_below")
    if customers and any(k in audience for k in metric_keys):
        customers = await _filter_by_metrics(account_id, customers, audience)
    return customers


async def _filter_by_metrics(
    account_id: uuid.UUID, customers: list[Customer], audience: dict
) -> list[Customer]:
    from services.payments import NO_ORDERS, customer_metrics

    before = (
        datetime.fromisoformat(audience["last_order_before"]) if "last_order_before" in audience else None
    )
    after = datetime.fromisoformat(audience["last_order_after"]) if "last_order_after" in audience else None
    above = audience.get("total_sales_above")
    below = audience.get("total_sales_below")
    kept: list[Customer] = []
    for start in range(0, len(customers), 1000):
        chunk = customers[start : start + 1000]
        metrics = await customer_metrics(account_id, [c.id for c in chunk])
        for customer in chunk:
            figures = metrics.get(customer.id, NO_ORDERS)
            last = figures.last_sale_at
            if before is not None and (last is None or last >= before):
                continue
            if after is not None and (last is None or last <= after):
                continue
            if above is not None and figures.total_sales_minor <= above:
                continue
            if below is not None and figures.total_sales_minor >= below:
                continue
            kept.append(customer)
    return kept


# --- campaigns ------------------------------------------------------------------------------------------


@dataclass
class CampaignInput:
    name: str
    channel: str
    body: str
    subject: str | None = None
    audience: AudienceInput = field(default_factory=AudienceInput)
    batch_size: int | None = None


async def _currency(account_id: uuid.UUID) -> str:
    return (await Account.get(id=account_id)).currency


async def create_campaign(actor: Actor, data: CampaignInput) -> Campaign:
    """A DRAFT campaign; its template may use only customer fields."""
    actor.require(Permission.CUSTOMERS_WRITE)
    problems = ProblemList()
    name = clean_text(problems, data.name, ["name"], max_length=200, required=True)
    if data.channel not in Channel.__members__:
        problems.add(["channel"], "INVALID", f"channel is one of {', '.join(Channel)}")
    subject = clean_text(problems, data.subject, ["subject"], max_length=500)
    if data.channel == Channel.EMAIL and not subject:
        problems.add(["subject"], "REQUIRED", "an email campaign needs a subject")
    body = (data.body or "").strip()
    if not body:
        problems.add(["body"], "REQUIRED", "body must not be empty")
    elif len(body) > 100_000:
        problems.add(["body"], "TOO_LONG", "body is longer than 100000 characters")
    check_template(problems, subject, ["subject"])
    check_template(problems, body, ["body"])
    batch_size = data.batch_size if data.batch_size is not None else DEFAULT_BATCH_SIZE
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        problems.add(["batchSize"], "INVALID", f"batchSize is between 1 and {MAX_BATCH_SIZE}")
    audience: dict[str, object] = {}
    try:
        audience = await _clean_audience(actor, data.audience, await _currency(actor.account_id))
    except InvalidInput as exc:
        problems.problems.extend(exc.problems)
    problems.raise_if_any()
    return await Campaign.create(
        id=uuid.uuid4(),
        account_id=actor.account_id,
        name=name,
        channel=data.channel,
        subject=subject,
        body=body,
        audience=audience,
        batch_size=batch_size,
        created_by_id=actor.user_id,
    )


async def get_campaign(actor: Actor, campaign_id: object, field_path: Sequence[str] = ("id",)) -> Campaign:
    actor.require(Permission.CUSTOMERS_READ)
    return await get_owned(Campaign, actor, campaign_id, field=field_path, what="campaign")


async def list_campaigns(
    actor: Actor, *, status: str | None, first: int | None, after: str | None
) -> Page[Campaign]:
    actor.require(Permission.CUSTOMERS_READ)
    query = Campaign.filter(account_id=actor.account_id)
    if status:
        query = query.filter(status=status)
    return await paginate(query, order_by="created_at", first=first, after=after)


def _unsubscribe_url(settings: MessagingSettings, token: str) -> str:
    return f"{settings.public_url or DEFAULT_PUBLIC_URL}/unsubscribe/{token}"


def _sms_text(campaign: Campaign, customer: Customer, url: str) -> str:
    text = render(campaign.body, customer_fields(customer, url))
    if "unsubscribe_url" not in campaign.body:
        text += SMS_UNSUBSCRIBE.format(url=url)
    return text


def _check_configured(settings: MessagingSettings, channel: str) -> None:
    if channel == Channel.EMAIL and not (settings.smtp_host and settings.from_email):
        raise InvalidInput.one(
            ["campaignId"],
            "NOT_CONFIGURED",
            "set the SMTP server and sender address (messagingSettings) first",
        )
    if channel == Channel.SMS and not settings.sms_gateway_url:
        raise InvalidInput.one(
            ["campaignId"], "NOT_CONFIGURED", "set the SMS gateway (messagingSettings) first"
        )


def _address(customer: Customer, channel: str) -> tuple[str, str]:
    """The address to send to, and why not when there is none ('' if there is)."""
    if channel == Channel.EMAIL:
        if not customer.email_consent:
            return "", "NO_CONSENT"
        return (customer.emails[0], "") if customer.emails else ("", "NO_ADDRESS")
    if not customer.sms_consent:
        return "", "NO_CONSENT"
    return (customer.phones[0], "") if customer.phones else ("", "NO_ADDRESS")


async def _materialise(campaign: Campaign, settings: MessagingSettings) -> int:
    """Writes the delivery records and marks the campaign SENDING; call inside a transaction.
    Enqueues the batches after commit. Refuses an empty segment and SMS over the gateway's length."""
    customers = await audience_customers(campaign.account_id, campaign.audience)
    if not customers:
        raise InvalidInput.one(["campaignId"], "EMPTY_SEGMENT", "no customer matches the campaign's audience")
    rows: list[CampaignMessage] = []
    too_long: list[str] = []
    sendable = 0
    for customer in customers:
        address, reason = _address(customer, campaign.channel)
        token = secrets.token_urlsafe(16)
        if not reason and campaign.channel == Channel.SMS:
            text = _sms_text(campaign, customer, _unsubscribe_url(settings, token))
            if len(text) > settings.sms_max_length:
                too_long.append(customer.name)
        batch = sendable // campaign.batch_size if not reason else -1
        if not reason:
            sendable += 1
        rows.append(
            CampaignMessage(
                id=uuid.uuid4(),
                account_id=campaign.account_id,
                campaign_id=campaign.id,
                customer_id=customer.id,
                batch=batch,
                address=address,
                status=MessageStatus.SKIPPED if reason else MessageStatus.QUEUED,
                skip_reason=reason,
                token=token,
            )
        )
    if too_long:
        raise InvalidInput.one(
            ["body"],
            "SMS_TOO_LONG",
            f"the SMS is longer than the gateway's {settings.sms_max_length} characters for "
            f"{len(too_long)} customer(s), e.g. {', '.join(too_long[:3])}",
        )
    if not sendable:
        raise InvalidInput.one(
            ["campaignId"], "NO_RECIPIENTS", "no customer of the audience has consent and an address"
        )
    for start in range(0, len(rows), 1000):
        await CampaignMessage.bulk_create(rows[start : start + 1000])
    campaign.status = CampaignStatus.SENDING
    campaign.started_at = datetime.now(UTC)
    campaign.batches = math.ceil(sendable / campaign.batch_size)
    await campaign.save(update_fields=["status", "started_at", "batches", "updated_at"])
    for batch in range(campaign.batches):
        _enqueue_batch(campaign.id, batch)
    await _publish(campaign, "CAMPAIGN_STARTED", {"recipients": sendable})
    return sendable


def _batch_job_id(campaign_id: object, batch: int) -> str:
    return f"campaign:{campaign_id}:batch:{batch}"


def _enqueue_batch(campaign_id: object, batch: int) -> None:
    queue.enqueue_after_commit(
        "campaigns.send_batch", str(campaign_id), batch, job_id=_batch_job_id(campaign_id, batch)
    )


async def send_campaign(actor: Actor, campaign_id: object, send_at: datetime | None = None) -> Campaign:
    """Sends a DRAFT campaign now, or at `send_at`. Bad input (an empty segment, an SMS over the
    gateway's length, no sending settings) is refused and nothing is sent."""
    actor.require(Permission.CUSTOMERS_WRITE)
    now = datetime.now(UTC)
    if send_at is not None and send_at.tzinfo is None:
        raise InvalidInput.one(["sendAt"], "NO_TIME_ZONE", "give the time with a time zone")
    settings = await _settings_of(actor.account_id)
    async with transaction():
        campaign = await get_owned(
            Campaign, actor, campaign_id, field=["campaignId"], what="campaign", for_update=True
        )
        if campaign.status != CampaignStatus.DRAFT:
            raise InvalidInput.one(
                ["campaignId"], "ALREADY_SENT", f"the campaign is {campaign.status}: only a draft can be sent"
            )
        _check_configured(settings, campaign.channel)
        if send_at is not None and send_at > now:
            # Check the audience now, so the mistake shows while someone is looking.
            if not await audience_customers(campaign.account_id, campaign.audience):
                raise InvalidInput.one(
                    ["campaignId"], "EMPTY_SEGMENT", "no customer matches the campaign's audience"
                )
            campaign.status = CampaignStatus.SCHEDULED
            campaign.scheduled_at = send_at
            await campaign.save(update_fields=["status", "scheduled_at", "updated_at"])
            queue.enqueue_after_commit(
                "campaigns.start",
                str(campaign.id),
                job_id=f"campaign:{campaign.id}:start",
                defer_until=send_at,
            )
        else:
            await _materialise(campaign, settings)
    return campaign


async def cancel_campaign(actor: Actor, campaign_id: object) -> Campaign:
    """Stops a scheduled or sending campaign: what is not sent yet is skipped."""
    actor.require(Permission.CUSTOMERS_WRITE)
    async with transaction():
        campaign = await get_owned(
            Campaign, actor, campaign_id, field=["campaignId"], what="campaign", for_update=True
        )
        if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.SENDING):
            raise InvalidInput.one(["campaignId"], "FINISHED", f"the campaign is already {campaign.status}")
        campaign.status = CampaignStatus.CANCELLED
        campaign.finished_at = datetime.now(UTC)
        await campaign.save(update_fields=["status", "finished_at", "updated_at"])
        await CampaignMessage.filter(
            account_id=actor.account_id, campaign_id=campaign.id, status=MessageStatus.QUEUED
        ).update(status=MessageStatus.SKIPPED, skip_reason="CANCELLED")
    return campaign


# --- stats and timeline ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignStats:
    queued: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def recipients(self) -> int:
        return self.queued + self.sending + self.sent + self.failed + self.skipped


async def stats_of_campaigns(
    account_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, CampaignStats]:
    """Counts by delivery status, for several campaigns in one grouped query."""
    rows = (
        await CampaignMessage.filter(account_id=account_id, campaign_id__in=list(ids))
        .annotate(n=Count("id"))
        .group_by("campaign_id", "status")
        .values("campaign_id", "status", "n")
    )
    counts: dict[uuid.UUID, dict[str, int]] = {i: {} for i in ids}
    for row in rows:
        counts.setdefault(row["campaign_id"], {})[row["status"].lower()] = int(row["n"])
    return {i: CampaignStats(**c) for i, c in counts.items()}


async def list_messages(
    actor: Actor, campaign_id: object, *, status: str | None, first: int | None, after: str | None
) -> Page[CampaignMessage]:
    campaign = await get_campaign(actor, campaign_id, ["campaignId"])
    query = CampaignMessage.filter(account_id=actor.account_id, campaign_id=campaign.id)
    if status:
        query = query.filter(status=status)
    return await paginate(query, order_by="created_at", first=first, after=after)


async def customer_timeline(
    actor: Actor, customer_id: object, *, first: int | None, after: str | None
) -> Page[CustomerEvent]:
    actor.require(Permission.CUSTOMERS_READ)
    customer = await get_owned(Customer, actor, customer_id, field=["customerId"], what="customer")
    query = CustomerEvent.filter(account_id=actor.account_id, customer_id=customer.id)
    return await paginate(query, order_by="created_at", first=first, after=after)


# --- unsubscribing (public) --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unsubscribed:
    channel: str
    already: bool


async def unsubscribe(token: str) -> Unsubscribed | None:
    """Withdraws the consent the message with this token was sent under; None for an unknown token."""
    if not token or len(token) > 64 or "\x00" in token:
        return None
    async with transaction():
        message = await CampaignMessage.filter(token=token).first()
        if message is None:
            return None
        campaign = await Campaign.get(id=message.campaign_id, account_id=message.account_id)
        flag = "email_consent" if campaign.channel == Channel.EMAIL else "sms_consent"
        changed = await Customer.filter(
            id=message.customer_id, account_id=message.account_id, **{flag: True}
        ).update(**{flag: False})
        if changed:
            await CustomerEvent.create(
                id=uuid.uuid4(),
                account_id=message.account_id,
                customer_id=message.customer_id,
                type=CustomerEventType.UNSUBSCRIBED,
                channel=campaign.channel,
                campaign_id=campaign.id,
                message_id=message.id,
                summary=f"unsubscribed from {campaign.channel} via campaign {campaign.name!r}",
            )
    return Unsubscribed(campaign.channel, already=not changed)


# --- the jobs ---------------------------------------------------------------------------------------------


class _Refused(Exception):
    """The receiving side refused this one message for good."""


class _EmailSender:
    """One SMTP connection per batch, opened on first use and again after an error."""

    def __init__(self, settings: MessagingSettings) -> None:
        self.settings = settings
        self.smtp: aiosmtplib.SMTP | None = None
        self.domain = (settings.from_email.rpartition("@")[2] or "backoffice.local").lower()

    async def _connect(self) -> aiosmtplib.SMTP:
        if self.smtp is None or not self.smtp.is_connected:
            s = self.settings
            smtp = aiosmtplib.SMTP(
                hostname=s.smtp_host,
                port=s.smtp_port,
                use_tls=s.smtp_security == "TLS",
                start_tls=True if s.smtp_security == "STARTTLS" else False,
                timeout=SEND_TIMEOUT_SECONDS,
            )
            await smtp.connect()
            if s.smtp_username:
                await smtp.login(s.smtp_username, s.smtp_password)
            self.smtp = smtp
        return self.smtp

    async def send(self, message: CampaignMessage, subject: str, text: str, unsubscribe_url: str) -> str:
        email = EmailMessage()
        email["From"] = formataddr((self.settings.from_name, self.settings.from_email))
        email["To"] = message.address
        email["Subject"] = subject
        email["Date"] = formatdate(localtime=False)
        # The same id on every try: a mailbox that sees it twice keeps one.
        email["Message-ID"] = f"<{message.id}@{self.domain}>"
        email["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email.set_content(text)
        try:
            smtp = await self._connect()
            _, response = await smtp.send_message(email)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            await self._drop()
            codes = [r.code for r in exc.recipients]
            if codes and all(c >= 500 for c in codes):
                raise _Refused(f"recipient refused: {exc.recipients[0].message}") from exc
            raise queue.Transient(f"recipient deferred: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self._drop()
            if exc.code >= 500 and not isinstance(exc, aiosmtplib.SMTPServerDisconnected):
                raise _Refused(f"SMTP {exc.code}: {exc.message}") from exc
            raise queue.Transient(f"SMTP {exc.code}: {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._drop()
            raise queue.Transient(f"SMTP: {type(exc).__name__}: {exc}") from exc
        return response[:200]

    async def _drop(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(Exception):
                self.smtp.close()
            self.smtp = None

    async def close(self) -> None:
        if self.smtp is not None and self.smtp.is_connected:
            with contextlib.suppress(Exception):
                await self.smtp.quit()
        await self._drop()


class _SmsSender:
    """The account's HTTP SMS gateway: JSON {id, to, text, sender}; our message id is its idempotency key."""

    def __init__(self, settings: MessagingSettings) -> None:
        self.settings = settings
        self.http = httpx.AsyncClient(timeout=SEND_TIMEOUT_SECONDS)

    async def send(self, message: CampaignMessage, subject: str, text: str, unsubscribe_url: str) -> str:
        headers = {"Authorization": f"Bearer {self.settings.sms_gateway_key}"}
        body = {
            "id": str(message.id),
            "to": message.address,
            "text": text,
            "sender": self.settings.sms_sender,
        }
        try:
            response = await self.http.post(self.settings.sms_gateway_url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise queue.Transient(f"SMS gateway: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise queue.Transient(f"SMS gateway answered {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code in (200, 201, 202, 409):  # 409: already accepted under this id
            return str(answer.get("id", ""))[:200]
        raise _Refused(f"SMS gateway refused ({response.status_code}): {str(answer.get('error', ''))[:300]}")

    async def close(self) -> None:
        await self.http.aclose()


async def _publish(campaign: Campaign, type_: str, payload: dict) -> None:
    """An event on the account's `campaigns` feed, once the live-feeds log knows that topic."""
    if event_log is not None and TOPIC in getattr(event_log, "TOPICS", ()):
        await event_log.record(
            campaign.account_id,
            topic=TOPIC,
            type=type_,
            payload={"campaign_id": str(campaign.id), "status": campaign.status, **payload},
        )


@queue.job("campaigns.start")
async def start_scheduled(campaign_id: str) -> None:
    """Sends a SCHEDULED campaign whose time has come. Its audience is taken now."""
    campaign = await Campaign.filter(id=campaign_id).first()
    if campaign is None:
        return
    if campaign.status != CampaignStatus.SCHEDULED:
        return
    if campaign.scheduled_at and campaign.scheduled_at > datetime.now(UTC):
        await queue.enqueue(
            "campaigns.start",
            campaign_id,
            job_id=f"campaign:{campaign_id}:start:{campaign.scheduled_at.timestamp():.0f}",
            defer_until=campaign.scheduled_at,
        )
        return
    settings = await _settings_of(campaign.account_id)
    try:
        async with transaction():
            campaign = await Campaign.filter(id=campaign_id).select_for_update().get()
            if campaign.status != CampaignStatus.SCHEDULED:
                return
            await _materialise(campaign, settings)
    except InvalidInput as exc:
        await _fail_campaign(campaign_id, str(exc))


async def _fail_campaign(campaign_id: str, error: str) -> None:
    async with transaction():
        campaign = await Campaign.filter(id=campaign_id).select_for_update().get()
        if campaign.status in (CampaignStatus.DONE, CampaignStatus.CANCELLED, CampaignStatus.FAILED):
            return
        campaign.status = CampaignStatus.FAILED
        campaign.error = error
        campaign.finished_at = datetime.now(UTC)
        await campaign.save(update_fields=["status", "error", "finished_at", "updated_at"])
        await _publish(campaign, "CAMPAIGN_FAILED", {"error": error})


async def _batch_failed(campaign_id: str, batch: int, *, error: str) -> None:
    """After a batch's last try: what it did not send is FAILED, and the campaign says why."""
    campaign = await Campaign.filter(id=campaign_id).first()
    if campaign is None:
        return
    async with transaction():
        await CampaignMessage.filter(
            account_id=campaign.account_id, campaign_id=campaign.id, batch=batch, status__in=list(OPEN)
        ).update(status=MessageStatus.FAILED, error=error)
        await Campaign.filter(id=campaign.id).update(error=error)
        await _publish(campaign, "CAMPAIGN_BATCH_FAILED", {"batch": batch, "error": error})
    await _finish_if_done(campaign.id)


async def _finish_if_done(campaign_id: object) -> None:
    campaign = await Campaign.filter(id=campaign_id).first()
    if campaign is None or campaign.status != CampaignStatus.SENDING:
        return
    pending = await CampaignMessage.filter(
        account_id=campaign.account_id, campaign_id=campaign.id, status__in=list(OPEN)
    ).exists()
    if pending:
        return
    stats = (await stats_of_campaigns(campaign.account_id, [campaign.id]))[campaign.id]
    status = CampaignStatus.FAILED if stats.sent == 0 and stats.failed > 0 else CampaignStatus.DONE
    async with transaction():
        changed = await Campaign.filter(id=campaign.id, status=CampaignStatus.SENDING).update(
            status=status, finished_at=datetime.now(UTC)
        )
        if changed:
            campaign.status = status
            await _publish(
                campaign,
                "CAMPAIGN_FINISHED",
                {"sent": stats.sent, "failed": stats.failed, "skipped": stats.skipped},
            )


@queue.job("campaigns.send_batch", on_failure=_batch_failed, timeout_seconds=600)
async def send_batch(campaign_id: str, batch: int) -> int:
    """Sends one batch: each message is marked SENDING before it goes and SENT after. Returns how
    many went out. A transient error ends the try; the retry picks up where this one stopped."""
    campaign = await Campaign.filter(id=campaign_id).first()
    if campaign is None or campaign.status != CampaignStatus.SENDING:
        return 0
    account_id = campaign.account_id
    messages = await CampaignMessage.filter(
        account_id=account_id, campaign_id=campaign.id, batch=batch, status__in=list(OPEN)
    ).order_by("id")
    if not messages:
        await _finish_if_done(campaign.id)
        return 0
    settings = await _settings_of(account_id)
    customers = {
        c.id: c
        for c in await Customer.filter(account_id=account_id, id__in=[m.customer_id for m in messages])
    }
    sender: _EmailSender | _SmsSender = (
        _EmailSender(settings) if campaign.channel == Channel.EMAIL else _SmsSender(settings)
    )
    sent = 0
    try:
        for message in messages:
            customer = customers.get(message.customer_id)
            address, reason = _address(customer, campaign.channel) if customer else ("", "NO_CUSTOMER")
            if reason:
                # Consent withdrawn (an unsubscribe) since the campaign started.
                await CampaignMessage.filter(id=message.id, status__in=list(OPEN)).update(
                    status=MessageStatus.SKIPPED, skip_reason="UNSUBSCRIBED" if customer else reason
                )
                continue
            # Written before the send ...
            claimed = await CampaignMessage.filter(id=message.id, status__in=list(OPEN)).update(
                status=MessageStatus.SENDING, attempts=F("attempts") + 1
            )
            if not claimed:
                continue
            url = _unsubscribe_url(settings, message.token)
            values = customer_fields(customer, url)
            subject = render(campaign.subject, values)
            if campaign.channel == Channel.EMAIL:
                text = render(campaign.body, values)
                if "unsubscribe_url" not in campaign.body:
                    text += f"\n\n--\nUnsubscribe: {url}\n"
            else:
                text = _sms_text(campaign, customer, url)
            try:
                provider_id = await sender.send(message, subject, text, url)
            except _Refused as exc:
                await CampaignMessage.filter(id=message.id, status=MessageStatus.SENDING).update(
                    status=MessageStatus.FAILED, error=str(exc)[:2000]
                )
                continue
            # ... and confirmed after it, with the customer's timeline entry.
            await _confirm(campaign, message, provider_id, subject or text[:200])
            sent += 1
    finally:
        await sender.close()
    await _finish_if_done(campaign.id)
    return sent


async def _confirm(campaign: Campaign, message: CampaignMessage, provider_id: str, summary: str) -> None:
    async with transaction():
        changed = await CampaignMessage.filter(id=message.id, status=MessageStatus.SENDING).update(
            status=MessageStatus.SENT, provider_id=provider_id, sent_at=datetime.now(UTC), error=""
        )
        if changed:
            await CustomerEvent.create(
                id=uuid.uuid4(),
                account_id=campaign.account_id,
                customer_id=message.customer_id,
                type=CustomerEventType.MESSAGE_SENT,
                channel=campaign.channel,
                campaign_id=campaign.id,
                message_id=message.id,
                summary=summary[:500],
            )


async def sweep_campaigns() -> int:
    """Enqueues what campaign rows still wait for: due scheduled campaigns, unsent batches."""
    now = datetime.now(UTC)
    count = 0
    for campaign_id in await Campaign.filter(
        status=CampaignStatus.SCHEDULED, scheduled_at__lte=now
    ).values_list("id", flat=True):
        count += await queue.enqueue(
            "campaigns.start", str(campaign_id), job_id=f"campaign:{campaign_id}:start"
        )
    sending = await Campaign.filter(status=CampaignStatus.SENDING).values_list("id", flat=True)
    for campaign_id in sending:
        batches = (
            await CampaignMessage.filter(campaign_id=campaign_id, status__in=list(OPEN))
            .distinct()
            .values_list("batch", flat=True)
        )
        if not batches:
            await _finish_if_done(campaign_id)
        for batch in sorted(set(batches)):
            count += await queue.enqueue(
                "campaigns.send_batch", str(campaign_id), batch, job_id=_batch_job_id(campaign_id, batch)
            )
    return count


queue.register_sweeper("campaigns", sweep_campaigns)
