"""A fake ATOL Online v4 style fiscal provider on loopback, answering with the real response
bodies of ../shared/data/exchange-samples/lamoda-atol-client/v4_fixture_responses.json.

- POST /getToken {login, pass}: a token valid 24 h (`expire_tokens()` ends all of them early: the
  next call with one answers error 11).
- POST /{group}/{sell|sell_refund} with header Token: checks the receipt (total = Σ item sums =
  Σ payments, names ≤ 128, each sum ≤ price × quantity, a client contact, the company) and
  answers uuid + wait; the same external_id again answers error 33 with the first uuid.
- GET /{group}/report/{uuid}: `wait` for `report_waits` polls, then `done` with fiscal attributes.
`fail_next("500" | "drop" | "hang")` misbehaves on the next calls; `slow` delays registrations.
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from decimal import Decimal
from pathlib import Path

from tests.fakes.http import DROP, HANG, FakeHttpService, Reply, Request

FIXTURES = json.loads(
    (
        Path(__file__).resolve().parents[3]
        / "shared/data/exchange-samples/lamoda-atol-client/v4_fixture_responses.json"
    ).read_text(encoding="utf-8")
)


def fixture(name: str) -> dict:
    return copy.deepcopy(FIXTURES[name])


class FakeFiscalProvider(FakeHttpService):
    path = "/possystem/v4"

    def __init__(
        self, *, login: str = "shop-login", password: str = "shop-pass", group: str = "group-1"
    ) -> None:
        self.login = login
        self.password = password
        self.group = group
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.registrations = 0  # every POST of a receipt, duplicates included
        self.receipts: dict[str, dict] = {}  # by external_id: one per receipt the provider holds
        self.by_uuid: dict[str, dict] = {}
        self.report_waits = 1
        self.slow = 0.0
        super().__init__()

    def expire_tokens(self) -> None:
        self.tokens.clear()

    async def handle(self, request: Request) -> object:
        mode = self.failures.pop(0) if self.failures else ""
        if mode == "drop":
            return DROP
        if mode == "hang":
            return HANG
        if mode == "500":
            return Reply(500, raw=b"<html>502 Bad Gateway</html>")
        path = request.path.removeprefix("/possystem/v4/")
        if path == "getToken":
            return self._token(request.json())
        group, _, rest = path.partition("/")
        if group != self.group:
            return Reply(400, {"error": {"code": 2, "text": "unknown group", "type": "system"}})
        if request.headers.get("token") not in self.tokens:
            return Reply(
                401,
                {
                    "error": {"code": 11, "text": "Срок действия токена истек", "type": "system"},
                    "status": "fail",
                },
            )
        if rest.startswith("report/"):
            return self._report(rest.removeprefix("report/"))
        if rest in ("sell", "sell_refund") and request.method == "POST":
            if self.slow:
                await asyncio.sleep(self.slow)
            return self._register(rest, request.json())
        return Reply(404, {"error": {"code": 404, "text": "not found"}})

    def _token(self, body: dict) -> Reply:
        self.token_requests += 1
        if body.get("login") != self.login or body.get("pass") != self.password:
            return Reply(200, fixture("appendErrorTokenResponse"))
        answer = fixture("appendSuccessTokenResponse")
        answer["token"] = uuid.uuid4().hex
        self.tokens.add(answer["token"])
        return Reply(200, answer)

    @staticmethod
    def problems(receipt: dict) -> list[str]:
        found = []
        items = receipt.get("items") or []
        total = Decimal(str(receipt.get("total", 0)))
        if not items:
            found.append("items")
        if sum(Decimal(str(i["sum"])) for i in items) != total:
            found.append("receipt.total != sum of items")
        if sum(Decimal(str(p["sum"])) for p in receipt.get("payments", [])) != total:
            found.append("receipt.total != sum of payments")
        for index, item in enumerate(items):
            if len(item.get("name", "")) > 128 or not item.get("name"):
                found.append(f"items[{index}].name: MaxLength 128")
            cap = (Decimal(str(item["price"])) * Decimal(str(item["quantity"]))).quantize(Decimal("0.01"))
            if Decimal(str(item["sum"])) > cap:
                found.append(f"items[{index}].sum > price * quantity")
            if Decimal(str(item["sum"])).as_tuple().exponent < -2:
                found.append(f"items[{index}].sum: more than 2 decimals")
        client = receipt.get("client") or {}
        if not (client.get("email") or client.get("phone")):
            found.append("client.email or client.phone")
        company = receipt.get("company") or {}
        for key in ("inn", "sno", "payment_address", "email"):
            if not company.get(key):
                found.append(f"company.{key}")
        return found

    def _register(self, operation: str, body: dict) -> Reply:
        self.registrations += 1
        external_id = body.get("external_id")
        known = self.receipts.get(external_id)
        if known is not None:
            return Reply(
                200,
                {
                    "uuid": known["uuid"],
                    "status": "fail",
                    "error": {
                        "code": 33,
                        "text": f"В системе существует чек с external_id : {external_id} "
                        f"и group_code: {self.group}",
                        "type": "system",
                    },
                    "timestamp": known["timestamp"],
                },
            )
        problems = self.problems(body.get("receipt") or {})
        if problems:
            answer = fixture("appendErrorRegisterResponse")
            answer["error"]["text"] = "Ошибка валидации входного чека. Ошибочные поля : " + "; ".join(
                problems
            )
            return Reply(400, answer)
        answer = fixture("appendSuccessRegisterResponse")
        answer["uuid"] = str(uuid.uuid4())
        record = {
            "uuid": answer["uuid"],
            "operation": operation,
            "external_id": external_id,
            "receipt": body["receipt"],
            "waits_left": self.report_waits,
            "timestamp": answer["timestamp"],
            "number": len(self.receipts) + 1,
        }
        self.receipts[external_id] = record
        self.by_uuid[answer["uuid"]] = record
        return Reply(200, answer)

    def _report(self, receipt_uuid: str) -> Reply:
        record = self.by_uuid.get(receipt_uuid)
        if record is None:
            return Reply(
                404,
                {
                    "error": {"code": 34, "text": "Состояние чека не найдено", "type": "system"},
                    "status": "fail",
                },
            )
        if record["waits_left"] > 0:
            record["waits_left"] -= 1
            answer = fixture("appendSuccessWaitingReportResponse")
            answer["uuid"] = receipt_uuid
            return Reply(200, answer)
        answer = fixture("appendSuccessDoneReportResponse")
        answer["uuid"] = receipt_uuid
        answer["payload"]["total"] = record["receipt"]["total"]
        answer["payload"]["fiscal_document_number"] = 132896 + record["number"]
        answer["payload"]["fiscal_receipt_number"] = 425 + record["number"]
        return Reply(200, answer)
