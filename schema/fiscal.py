"""Fiscal receipts (54-FZ): one per payment and refund, submitted to the account's fiscal provider."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from resolvers import fiscal as r
from schema.common import Connection, UserError, connection, payload
from services.amounts import QUANTITY_SCALE, minor_to_money
from services.fiscal import ReceiptKind, ReceiptStatus

FiscalReceiptStatus = strawberry.enum(
    ReceiptStatus,
    name="FiscalReceiptStatus",
    description="PENDING (not yet at the provider), SUBMITTED (waits for its report), DONE, FAILED.",
)
FiscalReceiptKind = strawberry.enum(ReceiptKind, name="FiscalReceiptKind", description="sell or sell_refund.")


@strawberry.type(name="FiscalReceiptItem")
class FiscalReceiptItemType:
    name: str = strawberry.field(description="At most 128 characters.")
    price: Decimal
    quantity: Decimal
    sum: Decimal = strawberry.field(
        description="price × quantity rounded once, less its share of any discount."
    )
    vat: str
    vat_sum: Decimal
    payment_method: str
    payment_object: str


@strawberry.type(name="FiscalReceipt")
class FiscalReceiptType:
    id: strawberry.ID = strawberry.field(description="Also the provider's external_id.")
    payment_id: strawberry.ID
    order_id: strawberry.ID
    kind: FiscalReceiptKind
    status: FiscalReceiptStatus
    currency: str
    customer_email: str
    customer_phone: str
    submit_attempts: int
    provider_uuid: str
    submitted_at: datetime | None
    done_at: datetime | None
    fiscal_document_number: int | None
    fiscal_document_attribute: int | None = strawberry.field(description="The fiscal sign (ФПД).")
    fiscal_receipt_number: int | None
    fn_number: str = strawberry.field(description="The fiscal drive's number.")
    shift_number: int | None
    receipt_datetime: str
    ecr_registration_number: str
    fns_site: str
    error_code: int | None
    error_text: str
    created_at: datetime

    @strawberry.field
    def total(self) -> Decimal:
        return minor_to_money(self.total_minor, self.currency)  # type: ignore[attr-defined]

    @strawberry.field
    def items(self) -> list[FiscalReceiptItemType]:
        currency: str = self.currency
        return [
            FiscalReceiptItemType(
                name=i["name"],
                price=minor_to_money(i["price_minor"], currency),
                quantity=Decimal(i["quantity_milli"]) / QUANTITY_SCALE,
                sum=minor_to_money(i["sum_minor"], currency),
                vat=i["vat"],
                vat_sum=minor_to_money(i["vat_minor"], currency),
                payment_method=i["payment_method"],
                payment_object=i["payment_object"],
            )
            for i in self.items  # type: ignore[attr-defined]
        ]


@strawberry.type(
    name="FiscalSettings", description="The company's fiscal data and provider; the password is never shown."
)
class FiscalSettingsType:
    enabled: bool
    tax_id: str
    tax_system: str
    payment_address: str
    company_email: str
    provider_url: str
    group_code: str
    login: str
    default_vat: str


@strawberry.input
class UpdateFiscalSettingsInput:
    tax_id: str = strawberry.field(description="INN, 10 or 12 digits.")
    tax_system: str = strawberry.field(
        description="osn, usn_income, usn_income_outcome, envd, esn or patent."
    )
    payment_address: str = strawberry.field(description="The shop's site or address, as on the receipt.")
    company_email: str
    provider_url: str = strawberry.field(
        description="The provider's API base, e.g. https://online.atol.ru/possystem/v4"
    )
    group_code: str
    login: str
    password: str | None = strawberry.field(default=None, description="Required the first time.")
    default_vat: str | None = strawberry.field(default=None, description="For products without a VAT rate.")
    enabled: bool | None = None


@strawberry.input
class RetryFiscalReceiptInput:
    receipt_id: strawberry.ID


@strawberry.type
class UpdateFiscalSettingsPayload:
    user_errors: list[UserError]
    fiscal_settings: FiscalSettingsType | None = None


@strawberry.type
class RetryFiscalReceiptPayload:
    user_errors: list[UserError]
    receipt: FiscalReceiptType | None = None


@strawberry.type
class FiscalQuery:
    @strawberry.field
    async def fiscal_receipts(
        self,
        info: Info,
        order_id: strawberry.ID | None = None,
        status: FiscalReceiptStatus | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[FiscalReceiptType]:
        return connection(await r.list_receipts(info, order_id, status, first, after))

    @strawberry.field
    async def fiscal_receipt(self, info: Info, id: strawberry.ID) -> FiscalReceiptType:
        return await r.receipt(info, id)  # type: ignore[return-value]

    @strawberry.field
    async def fiscal_settings(self, info: Info) -> FiscalSettingsType | None:
        return await r.fiscal_settings(info)  # type: ignore[return-value]


@strawberry.type
class FiscalMutation:
    @strawberry.mutation
    async def update_fiscal_settings(
        self, info: Info, input: UpdateFiscalSettingsInput
    ) -> UpdateFiscalSettingsPayload:
        async def action() -> dict:
            return {"fiscal_settings": await r.update_fiscal_settings(info, input)}

        return await payload(UpdateFiscalSettingsPayload, action)

    @strawberry.mutation(description="Submits a FAILED receipt again, under the same external_id.")
    async def retry_fiscal_receipt(
        self, info: Info, input: RetryFiscalReceiptInput
    ) -> RetryFiscalReceiptPayload:
        async def action() -> dict:
            return {"receipt": await r.retry_receipt(info, input)}

        return await payload(RetryFiscalReceiptPayload, action)
