"""Dropshipping: thin calls into services.dropship, and the suppliers' signed callback."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from strawberry.types import Info

from models.purchasing import DropshipOrder, SupplierEndpoint
from resolvers.common import actor, plain
from services import dropship
from services.dropship import Answer, EndpointInput
from services.pagination import Page

MAX_CALLBACK_BYTES = 64 * 1024


async def set_supplier_endpoint(info: Info, data: Any) -> SupplierEndpoint:
    spec = EndpointInput(kind=plain(data.kind), url=data.url, email=data.email, secret=data.secret)
    return await dropship.set_supplier_endpoint(await actor(info), data.supplier_id, spec)


async def answer_dropship_order(info: Info, data: Any) -> DropshipOrder:
    answer = Answer(
        status=plain(data.status),
        tracking_number=data.tracking_number,
        reason=data.reason,
        reference=data.reference,
    )
    return await dropship.answer_dropship_order(await actor(info), data.dropship_order_id, answer)


async def dropship_order(info: Info, dropship_id: Any) -> DropshipOrder:
    return await dropship.get_dropship_order(await actor(info), dropship_id)


async def list_dropship_orders(
    info: Info, order_id: Any, status: Any, first: int | None, after: str | None
) -> Page[DropshipOrder]:
    return await dropship.list_dropship_orders(
        await actor(info), order_id=order_id, status=plain(status), first=first, after=after
    )


async def supplier_of(info: Info, supplier_id: Any) -> Any:
    return await (await info.context.loaders()).supplier.load(supplier_id)


async def supplier_callback(request: Request) -> JSONResponse:
    """POST /dropship/callback/<endpoint id>: {"id", "status", "tracking_number", "reason"},
    signed `X-Signature: sha256=<hex HMAC-SHA256 of the body>` with the endpoint's secret."""
    body = await request.body()
    if len(body) > MAX_CALLBACK_BYTES:
        return JSONResponse({"error": "body too large"}, status_code=413)
    try:
        row = await dropship.handle_callback(
            request.path_params.get("endpoint_id", ""), body, request.headers.get(dropship.SIGNATURE_HEADER)
        )
    except dropship.CallbackRefused as exc:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)
    return JSONResponse({"id": str(row.id), "status": row.status})
