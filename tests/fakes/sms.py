"""A fake HTTP SMS gateway on loopback: POST / {id, to, text, sender} with `Authorization: Bearer key`.

Like real gateways it deduplicates by the client's message id (answers 409 with the first id),
and refuses texts over `max_length` with 400. `fail_next("500" | "drop" | "hang" | "400")`.
"""

from __future__ import annotations

from collections import Counter

from tests.fakes.http import DROP, HANG, FakeHttpService, Reply, Request


class FakeSmsGateway(FakeHttpService):
    path = "/send"

    def __init__(self, *, key: str = "sms-key", max_length: int = 335) -> None:
        self.key = key
        self.max_length = max_length
        self.accepted: dict[str, dict] = {}
        self.requests = 0
        super().__init__()

    def per_recipient(self) -> Counter[str]:
        return Counter(m["to"] for m in self.accepted.values())

    async def handle(self, request: Request) -> object:
        self.requests += 1
        mode = self.failures.pop(0) if self.failures else ""
        if mode == "drop":
            return DROP
        if mode == "hang":
            return HANG
        if mode == "500":
            return Reply(500, {"error": "internal error"})
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return Reply(401, {"error": "bad key"})
        body = request.json()
        if mode == "400" or len(body.get("text", "")) > self.max_length:
            return Reply(400, {"error": f"text longer than {self.max_length}"})
        if body["id"] in self.accepted:
            return Reply(409, {"id": f"gw-{body['id']}", "error": "duplicate id"})
        self.accepted[body["id"]] = body
        return Reply(200, {"id": f"gw-{body['id']}", "status": "accepted"})
