"""Campaigns: email and SMS mailings to customers, their live stats, and the customer timeline."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from resolvers import campaigns as r
from schema.common import Connection, UserError, connection, payload
from schema.customers import CustomerType
from services.amounts import minor_to_money
from services.campaigns import CampaignStatus as ServiceCampaignStatus
from services.campaigns import Channel, MessageStatus

CampaignChannel = strawberry.enum(Channel, name="CampaignChannel")
CampaignStatus = strawberry.enum(
    ServiceCampaignStatus,
    name="CampaignStatus",
    description="DRAFT, SCHEDULED (waits for its time), SENDING, DONE, FAILED (nothing went out), CANCELLED.",
)
CampaignMessageStatus = strawberry.enum(
    MessageStatus,
    name="CampaignMessageStatus",
    description="QUEUED, SENDING (handed to the server), SENT, FAILED, SKIPPED (no consent or address).",
)


@strawberry.type(
    name="CampaignStats", description="Live counts of a campaign's recipients by delivery status."
)
class CampaignStatsType:
    queued: int
    sending: int
    sent: int
    failed: int
    skipped: int
    recipients: int


@strawberry.type(name="CampaignAudience")
class CampaignAudienceType:
    tags: list[str]
    country: str | None
    customer_ids: list[strawberry.ID] | None
    last_order_before: datetime | None
    last_order_after: datetime | None
    total_sales_above: Decimal | None
    total_sales_below: Decimal | None


@strawberry.type(name="CampaignMessage", description="The delivery record of one recipient.")
class CampaignMessageType:
    id: strawberry.ID
    address: str
    status: CampaignMessageStatus
    skip_reason: str
    attempts: int
    error: str
    sent_at: datetime | None
    created_at: datetime

    @strawberry.field
    async def customer(self, info: Info) -> CustomerType | None:
        return await r.customer_of(info, self.customer_id)  # type: ignore[attr-defined]


@strawberry.type(name="Campaign")
class CampaignType:
    id: strawberry.ID
    name: str
    channel: CampaignChannel
    subject: str
    body: str
    status: CampaignStatus
    batch_size: int
    batches: int
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    error: str = strawberry.field(description="The last failure, if any batch failed for good.")
    created_at: datetime

    @strawberry.field
    async def audience(self, info: Info) -> CampaignAudienceType:
        data: dict = self.audience  # type: ignore[assignment]
        currency = await info.context.currency()

        def money(key: str) -> Decimal | None:
            return minor_to_money(data[key], currency) if key in data else None

        def moment(key: str) -> datetime | None:
            return datetime.fromisoformat(data[key]) if key in data else None

        return CampaignAudienceType(
            tags=list(data.get("tags", [])),
            country=data.get("country"),
            customer_ids=data.get("customer_ids"),
            last_order_before=moment("last_order_before"),
            last_order_after=moment("last_order_after"),
            total_sales_above=money("total_sales_above"),
            total_sales_below=money("total_sales_below"),
        )

    @strawberry.field(description="Live: queued, sent, failed, skipped.")
    async def stats(self, info: Info) -> CampaignStatsType:
        return await r.stats(info, self)  # type: ignore[arg-type,return-value]

    @strawberry.field
    async def messages(
        self,
        info: Info,
        status: CampaignMessageStatus | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[CampaignMessageType]:
        return connection(await r.messages(info, self, status, first, after))  # type: ignore[arg-type]


@strawberry.type(name="CustomerEvent", description="An entry of a customer's timeline.")
class CustomerEventType:
    id: strawberry.ID
    type: str = strawberry.field(description="MESSAGE_SENT, UNSUBSCRIBED, ...")
    channel: str
    campaign_id: strawberry.ID | None
    summary: str
    created_at: datetime


@strawberry.type(
    name="MessagingSettings", description="How the account sends campaigns. Secrets are never shown."
)
class MessagingSettingsType:
    smtp_host: str
    smtp_port: int
    smtp_username: str
    smtp_security: str
    from_email: str
    from_name: str
    sms_gateway_url: str
    sms_sender: str
    sms_max_length: int
    public_url: str

    @strawberry.field
    def smtp_password_set(self) -> bool:
        return bool(self.smtp_password)  # type: ignore[attr-defined]

    @strawberry.field
    def sms_gateway_key_set(self) -> bool:
        return bool(self.sms_gateway_key)  # type: ignore[attr-defined]


@strawberry.input(description="Every condition given must hold; none given: every customer.")
class CampaignAudienceInput:
    tags: list[str] | None = strawberry.field(default=None, description="All of these tags.")
    country: str | None = None
    customer_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only these customers."
    )
    last_order_before: datetime | None = None
    last_order_after: datetime | None = None
    total_sales_above: Decimal | None = None
    total_sales_below: Decimal | None = None


@strawberry.input
class CreateCampaignInput:
    name: str
    channel: CampaignChannel
    body: str = strawberry.field(
        description="The text; {{name}}, {{first_name}}, {{code}}, {{email}}, {{phone}}, {{country}}, "
        "{{unsubscribe_url}} are filled per customer."
    )
    subject: str | None = strawberry.field(
        default=None, description="EMAIL: required; may use the same fields."
    )
    audience: CampaignAudienceInput | None = None
    batch_size: int | None = strawberry.field(default=None, description="Recipients per job (default 100).")


@strawberry.input
class SendCampaignInput:
    campaign_id: strawberry.ID
    send_at: datetime | None = strawberry.field(default=None, description="Later, instead of now.")


@strawberry.input
class CancelCampaignInput:
    campaign_id: strawberry.ID


@strawberry.input(description="Fields left out stay as they are.")
class UpdateMessagingSettingsInput:
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_security: str | None = strawberry.field(default=None, description="NONE, STARTTLS or TLS.")
    from_email: str | None = None
    from_name: str | None = None
    sms_gateway_url: str | None = None
    sms_gateway_key: str | None = None
    sms_sender: str | None = None
    sms_max_length: int | None = strawberry.field(default=None, description="The gateway's longest message.")
    public_url: str | None = strawberry.field(default=None, description="Where unsubscribe links point.")


@strawberry.type
class CreateCampaignPayload:
    user_errors: list[UserError]
    campaign: CampaignType | None = None


@strawberry.type
class SendCampaignPayload:
    user_errors: list[UserError]
    campaign: CampaignType | None = None


@strawberry.type
class CancelCampaignPayload:
    user_errors: list[UserError]
    campaign: CampaignType | None = None


@strawberry.type
class UpdateMessagingSettingsPayload:
    user_errors: list[UserError]
    messaging_settings: MessagingSettingsType | None = None


@strawberry.type
class CampaignsQuery:
    @strawberry.field
    async def campaigns(
        self,
        info: Info,
        status: CampaignStatus | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[CampaignType]:
        return connection(await r.list_campaigns(info, status, first, after))

    @strawberry.field
    async def campaign(self, info: Info, id: strawberry.ID) -> CampaignType:
        return await r.campaign(info, id)  # type: ignore[return-value]

    @strawberry.field(description="A customer's timeline: messages sent, unsubscribes.")
    async def customer_timeline(
        self, info: Info, customer_id: strawberry.ID, first: int | None = 50, after: str | None = None
    ) -> Connection[CustomerEventType]:
        return connection(await r.customer_timeline(info, customer_id, first, after))

    @strawberry.field
    async def messaging_settings(self, info: Info) -> MessagingSettingsType:
        return await r.messaging_settings(info)  # type: ignore[return-value]


@strawberry.type
class CampaignsMutation:
    @strawberry.mutation
    async def create_campaign(self, info: Info, input: CreateCampaignInput) -> CreateCampaignPayload:
        async def action() -> dict:
            return {"campaign": await r.create_campaign(info, input)}

        return await payload(CreateCampaignPayload, action)

    @strawberry.mutation(description="Sends a draft now or at sendAt, in batches by background jobs.")
    async def send_campaign(self, info: Info, input: SendCampaignInput) -> SendCampaignPayload:
        async def action() -> dict:
            return {"campaign": await r.send_campaign(info, input)}

        return await payload(SendCampaignPayload, action)

    @strawberry.mutation
    async def cancel_campaign(self, info: Info, input: CancelCampaignInput) -> CancelCampaignPayload:
        async def action() -> dict:
            return {"campaign": await r.cancel_campaign(info, input)}

        return await payload(CancelCampaignPayload, action)

    @strawberry.mutation
    async def update_messaging_settings(
        self, info: Info, input: UpdateMessagingSettingsInput
    ) -> UpdateMessagingSettingsPayload:
        async def action() -> dict:
            return {"messaging_settings": await r.update_messaging_settings(info, input)}

        return await payload(UpdateMessagingSettingsPayload, action)
