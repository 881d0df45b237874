"""A client of a cloud cash-register API in the style of ATOL Online v4.

- `POST {base}/getToken` with login and password gives a token valid for 24 hours; an answer with
  error code 11 (the token expired or is not valid) gets a new token and one more try.
- `POST {base}/{group_code}/{sell|sell_refund}` with our receipt id as `external_id` (the
  provider's idempotency key) answers a `uuid` and status `wait`. Posting the same external_id
  again answers error 33 with the uuid of the receipt already registered: taken as success.
- `GET {base}/{group_code}/report/{uuid}` answers `wait`, `done` (with the fiscal attributes in
  `payload`) or `fail` (with an `error`).

Timeouts, dropped connections and 5xx answers raise `services.queue.Transient`; a refusal the
provider will repeat (a validation error, wrong credentials) raises `ProviderRefused`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.queue import Transient

TOKEN_LIFETIME = timedelta(hours=24)
# A token this close to its end is renewed before use rather than after a refusal.
TOKEN_MARGIN = timedelta(minutes=5)
EXPIRED_TOKEN = 11
DUPLICATE_EXTERNAL_ID = 33
REPORT_NOT_READY = 34
TIMEOUT_SECONDS = 15.0


class ProviderRefused(Exception):
    def __init__(self, code: int | None, text: str) -> None:
        self.code = code
        self.text = text
        super().__init__(f"{code}: {text}" if code is not None else text)


@dataclass
class Answer:
    """What the provider said about a receipt."""

    uuid: str
    status: str
    error_code: int | None = None
    error_text: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


def timestamp(moment: datetime | None = None) -> str:
    """The provider's time format: dd.mm.yyyy HH:MM:SS."""
    return (moment or datetime.now(UTC)).strftime("%d.%m.%Y %H:%M:%S")


TokenSaver = Callable[[str, datetime], Awaitable[None]]


class AtolClient:
    def __init__(
        self,
        base_url: str,
        group_code: str,
        login: str,
        password: str,
        *,
        token: str = "",
        token_expires_at: datetime | None = None,
        save_token: TokenSaver | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.group_code = group_code
        self.login = login
        self.password = password
        self.token = token
        self.token_expires_at = token_expires_at
        self.save_token = save_token
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(timeout=TIMEOUT_SECONDS)

    async def close(self) -> None:
        if self._own_http:
            await self.http.aclose()

    async def _call(self, method: str, path: str, *, json: Any = None, token: str | None = None) -> dict:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if token:
            headers["Token"] = token
        try:
            response = await self.http.request(method, f"{self.base_url}/{path}", json=json, headers=headers)
        except httpx.HTTPError as exc:
            raise Transient(f"fiscal provider: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise Transient(f"fiscal provider answered {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise Transient(f"fiscal provider answered {response.status_code} without JSON") from exc
        if not isinstance(body, dict):
            raise Transient("fiscal provider answered something other than an object")
        return body

    @staticmethod
    def _error(body: dict) -> tuple[int | None, str]:
        error = body.get("error")
        if not error:
            return None, ""
        return error.get("code"), str(error.get("text") or "")

    async def get_token(self, *, renew: bool = False) -> str:
        now = datetime.now(UTC)
        fresh = self.token and self.token_expires_at and self.token_expires_at - TOKEN_MARGIN > now
        if fresh and not renew:
            return self.token
        body = await self._call("POST", "getToken", json={"login": self.login, "pass": self.password})
        code, text = self._error(body)
        if code is not None or not body.get("token"):
            raise ProviderRefused(code, text or "no token in the answer")
        self.token = str(body["token"])
        self.token_expires_at = now + TOKEN_LIFETIME
        if self.save_token is not None:
            await self.save_token(self.token, self.token_expires_at)
        return self.token

    async def _authorised(self, method: str, path: str, json: Any = None) -> dict:
        body = await self._call(method, path, json=json, token=await self.get_token())
        if self._error(body)[0] == EXPIRED_TOKEN:
            body = await self._call(method, path, json=json, token=await self.get_token(renew=True))
        return body

    async def register(self, operation: str, external_id: str, receipt: dict) -> Answer:
        """Posts a receipt; the same external_id again answers the receipt already registered."""
        body = await self._authorised(
            "POST",
            f"{self.group_code}/{operation}",
            {"external_id": external_id, "receipt": receipt, "timestamp": timestamp()},
        )
        code, text = self._error(body)
        if code is None or (code == DUPLICATE_EXTERNAL_ID and body.get("uuid")):
            if not body.get("uuid"):
                raise Transient("fiscal provider gave no uuid")
            return Answer(str(body["uuid"]), str(body.get("status") or "wait"), code, text)
        raise ProviderRefused(code, text)

    async def report(self, uuid: str) -> Answer:
        body = await self._authorised("GET", f"{self.group_code}/report/{uuid}")
        code, text = self._error(body)
        status = str(body.get("status") or "")
        if status in ("wait", "done", "fail"):
            return Answer(uuid, status, code, text, body.get("payload") or {})
        if code == REPORT_NOT_READY:
            return Answer(uuid, "wait", code, text)
        raise ProviderRefused(code, text or f"unknown report status {status!r}")
