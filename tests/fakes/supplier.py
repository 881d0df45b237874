"""A fake supplier endpoint on loopback: takes dropship orders as JSON signed with HMAC-SHA256,
refuses a bad signature (401), keeps one order per id (a repeated id is answered 200 again), and
can fail on demand: fail_next("500" | "drop" | "hang" | "400")."""

from __future__ import annotations

import hashlib
import hmac

from tests.fakes.http import DROP, HANG, FakeHttpService, Reply, Request


class FakeSupplier(FakeHttpService):
    path = "/dropship"

    def __init__(self, secret: str = "supplier-shared-secret-0123456789") -> None:
        self.secret = secret
        self.orders: dict[str, dict] = {}
        self.requests = 0
        self.bad_signatures = 0
        super().__init__()

    async def handle(self, request: Request) -> object:
        self.requests += 1
        mode = self.failures.pop(0) if self.failures else ""
        if mode == "drop":
            return DROP
        if mode == "hang":
            return HANG
        if mode == "500":
            return Reply(500, {"error": "busy"})
        if mode == "400":
            return Reply(400, {"error": "we do not ship there"})
        expected = "sha256=" + hmac.new(self.secret.encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("x-signature", ""), expected):
            self.bad_signatures += 1
            return Reply(401, {"error": "bad signature"})
        document = request.json()
        self.orders.setdefault(document["id"], document)
        return Reply(200, {"reference": f"SUP-{list(self.orders).index(document['id']) + 1}"})
