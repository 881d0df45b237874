"""Fiscal receipts: thin calls into services.fiscal."""

from __future__ import annotations

from typing import Any

from strawberry.types import Info

from models.fiscal import AccountFiscalSettings, Receipt
from resolvers.common import actor, plain
from services import fiscal
from services.fiscal import FiscalSettingsInput
from services.pagination import Page


async def receipt(info: Info, receipt_id: Any) -> Receipt:
    return await fiscal.get_receipt(await actor(info), receipt_id)


async def list_receipts(
    info: Info, order_id: Any, status: Any, first: int | None, after: str | None
) -> Page[Receipt]:
    return await fiscal.list_receipts(
        await actor(info), order_id=order_id, status=plain(status), first=first, after=after
    )


async def retry_receipt(info: Info, data: Any) -> Receipt:
    return await fiscal.retry_receipt(await actor(info), data.receipt_id)


async def fiscal_settings(info: Info) -> AccountFiscalSettings | None:
    return await fiscal.get_fiscal_settings(await actor(info))


async def update_fiscal_settings(info: Info, data: Any) -> AccountFiscalSettings:
    spec = FiscalSettingsInput(
        tax_id=data.tax_id,
        tax_system=plain(data.tax_system),
        payment_address=data.payment_address,
        company_email=data.company_email,
        provider_url=data.provider_url,
        group_code=data.group_code,
        login=data.login,
        password=data.password,
        default_vat=plain(data.default_vat),
        enabled=data.enabled,
    )
    return await fiscal.update_fiscal_settings(await actor(info), spec)
