"""Campaigns: thin calls into services.campaigns, and the public unsubscribe page."""

from __future__ import annotations

import html
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from strawberry.types import Info

from models.campaigns import Campaign, CampaignMessage, CustomerEvent, MessagingSettings
from resolvers.common import actor, plain
from services import campaigns
from services.campaigns import AudienceInput, CampaignInput, CampaignStats, MessagingSettingsInput
from services.pagination import Page

_SETTINGS_FIELDS = (
    "smtp_host",
    "smtp_port",
    "smtp_username",
    "smtp_password",
    "smtp_security",
    "from_email",
    "from_name",
    "sms_gateway_url",
    "sms_gateway_key",
    "sms_sender",
    "sms_max_length",
    "public_url",
)


def _audience(data: Any) -> AudienceInput:
    if data is None:
        return AudienceInput()
    return AudienceInput(
        tags=list(data.tags or []),
        country=data.country,
        customer_ids=list(data.customer_ids) if data.customer_ids is not None else None,
        last_order_before=data.last_order_before,
        last_order_after=data.last_order_after,
        total_sales_above=data.total_sales_above,
        total_sales_below=data.total_sales_below,
    )


async def create_campaign(info: Info, data: Any) -> Campaign:
    spec = CampaignInput(
        name=data.name,
        channel=plain(data.channel),
        subject=data.subject,
        body=data.body,
        audience=_audience(data.audience),
        batch_size=data.batch_size,
    )
    return await campaigns.create_campaign(await actor(info), spec)


async def send_campaign(info: Info, data: Any) -> Campaign:
    return await campaigns.send_campaign(await actor(info), data.campaign_id, data.send_at)


async def cancel_campaign(info: Info, data: Any) -> Campaign:
    return await campaigns.cancel_campaign(await actor(info), data.campaign_id)


async def campaign(info: Info, campaign_id: Any) -> Campaign:
    return await campaigns.get_campaign(await actor(info), campaign_id)


async def list_campaigns(info: Info, status: Any, first: int | None, after: str | None) -> Page[Campaign]:
    return await campaigns.list_campaigns(await actor(info), status=plain(status), first=first, after=after)


async def messages(
    info: Info, campaign_row: Campaign, status: Any, first: int | None, after: str | None
) -> Page[CampaignMessage]:
    return await campaigns.list_messages(
        await actor(info), campaign_row.id, status=plain(status), first=first, after=after
    )


async def stats(info: Info, campaign_row: Campaign) -> CampaignStats:
    """Live counts, for every campaign of the page in one query."""
    me = await actor(info)
    loaders = await info.context.loaders()

    def make() -> Any:
        from strawberry.dataloader import DataLoader

        async def load(ids: list) -> list[CampaignStats]:
            found = await campaigns.stats_of_campaigns(me.account_id, ids)
            return [found.get(i, CampaignStats()) for i in ids]

        return DataLoader(load_fn=load)

    return await loaders.custom("campaign_stats", make).load(campaign_row.id)


async def customer_of(info: Info, customer_id: Any) -> Any:
    return await (await info.context.loaders()).customer.load(customer_id)


async def customer_timeline(
    info: Info, customer_id: Any, first: int | None, after: str | None
) -> Page[CustomerEvent]:
    return await campaigns.customer_timeline(await actor(info), customer_id, first=first, after=after)


async def messaging_settings(info: Info) -> MessagingSettings:
    return await campaigns.get_messaging_settings(await actor(info))


async def update_messaging_settings(info: Info, data: Any) -> MessagingSettings:
    values = {f: plain(getattr(data, f, None)) for f in _SETTINGS_FIELDS}
    return await campaigns.update_messaging_settings(await actor(info), MessagingSettingsInput(**values))


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{text}</p>{form}</body></html>"""


async def unsubscribe_page(request: Request) -> HTMLResponse:
    """GET shows a button (mail scanners follow links); POST unsubscribes, as RFC 8058 one-click does."""
    token = request.path_params.get("token", "")
    if request.method == "GET":
        form = '<form method="post"><button type="submit">Unsubscribe</button></form>'
        return HTMLResponse(
            _PAGE.format(title="Unsubscribe", text="Stop receiving these messages?", form=form)
        )
    done = await campaigns.unsubscribe(token)
    if done is None:
        text = "This link is not valid."
        return HTMLResponse(_PAGE.format(title="Unknown link", text=text, form=""), status_code=404)
    what = "emails" if done.channel == "EMAIL" else "text messages"
    text = (
        f"You will receive no more {what} from us."
        if not done.already
        else f"You had already unsubscribed from {what}."
    )
    return HTMLResponse(_PAGE.format(title="Unsubscribed", text=html.escape(text), form=""))
