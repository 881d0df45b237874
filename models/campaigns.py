"""Campaigns: email and SMS mailings to customers, their delivery records, and the customer timeline."""

from __future__ import annotations

from tortoise import fields

from models.base import AccountOwned


class MessagingSettings(AccountOwned):
    """How an account sends: its SMTP server, its SMS gateway (URL and key), and the public address
    unsubscribe links point at. One row per account."""

    smtp_host = fields.CharField(max_length=255, default="")
    smtp_port = fields.IntField(default=587)
    smtp_username = fields.CharField(max_length=255, default="")
    smtp_password = fields.CharField(max_length=255, default="")
    smtp_security = fields.CharField(max_length=8, default="STARTTLS")
    from_email = fields.CharField(max_length=254, default="")
    from_name = fields.CharField(max_length=200, default="")
    sms_gateway_url = fields.CharField(max_length=500, default="")
    sms_gateway_key = fields.CharField(max_length=255, default="")
    sms_sender = fields.CharField(max_length=32, default="")
    sms_max_length = fields.IntField(default=335)
    public_url = fields.CharField(max_length=500, default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "messaging_settings"
        unique_together = (("account_id",),)


class Campaign(AccountOwned):
    """A mailing: a template, an audience filter, and where sending stands.

    `status`: DRAFT, SCHEDULED (waits for `scheduled_at`), SENDING, DONE, FAILED (nothing could be
    sent), CANCELLED. The recipients are fixed when sending starts, as `CampaignMessage` rows.
    """

    name = fields.CharField(max_length=200)
    channel = fields.CharField(max_length=8)
    subject = fields.CharField(max_length=500, default="")
    body = fields.TextField()
    audience = fields.JSONField(default=dict)
    status = fields.CharField(max_length=16, default="DRAFT")
    batch_size = fields.IntField(default=100)
    batches = fields.IntField(default=0)
    scheduled_at = fields.DatetimeField(null=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    error = fields.TextField(default="")
    created_by_id = fields.UUIDField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "campaign"
        indexes = (("account_id", "created_at"), ("status", "scheduled_at"))


class CampaignMessage(AccountOwned):
    """The delivery record of one recipient of one campaign: at most one per customer per campaign.

    QUEUED, then SENDING (written before the send), then SENT (confirmed after it) or FAILED;
    SKIPPED for customers without consent or an address. A retried batch sends only what is not
    SENT. `token` is the recipient's unsubscribe token.
    """

    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="messages", on_delete=fields.CASCADE
    )
    campaign_id: object
    customer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Customer", related_name=False, on_delete=fields.CASCADE
    )
    customer_id: object
    batch = fields.IntField(default=0)
    address = fields.CharField(max_length=254, default="")
    status = fields.CharField(max_length=8, default="QUEUED")
    skip_reason = fields.CharField(max_length=32, default="")
    attempts = fields.IntField(default=0)
    error = fields.TextField(default="")
    provider_id = fields.CharField(max_length=200, default="")
    token = fields.CharField(max_length=64, unique=True)
    sent_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "campaign_message"
        unique_together = (("account_id", "campaign_id", "customer_id"),)
        indexes = (("account_id", "campaign_id", "batch", "status"), ("account_id", "campaign_id", "status"))


class CustomerEvent(AccountOwned):
    """One entry of a customer's timeline: a message sent, an unsubscribe, and what later work adds."""

    customer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Customer", related_name=False, on_delete=fields.CASCADE
    )
    customer_id: object
    type = fields.CharField(max_length=32)
    channel = fields.CharField(max_length=8, default="")
    campaign_id = fields.UUIDField(null=True)
    message_id = fields.UUIDField(null=True)
    summary = fields.TextField(default="")

    class Meta:
        table = "customer_event"
        # A message is sent (or unsubscribed from) once: its events cannot repeat.
        unique_together = (("account_id", "message_id", "type"),)
        indexes = (("account_id", "customer_id", "created_at"),)
