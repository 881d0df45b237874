"""A real server for the client tests: uvicorn in its own process on a free loopback port,
serving the test database, and a shop set up in it through the API (as a user would)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
ERRORS = "userErrors { field code message }"


@dataclass
class LiveServer:
    http: str
    ws: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(name="live_server")
def live_server_fixture(db) -> Iterator[LiveServer]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env["DATABASE_URL"] = db.database_url.split("?")[0]
    env["LOG_LEVEL"] = "warning"
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.1)
        yield LiveServer(base, f"ws://127.0.0.1:{port}/graphql")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class LiveShop:
    server: LiveServer
    email: str
    password: str
    token: str  # the owner's session
    api_token: str  # a store token: ORDERS_WRITE, ORDERS_READ
    channel_id: str

    async def call(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                f"{self.server.http}/graphql",
                json={"query": query, "variables": variables or {}},
                headers={"Authorization": f"Bearer {token or self.token}"},
            )
        body = response.json()
        assert not body.get("errors"), body
        return body["data"]

    async def place(self, external_id: str) -> int:
        data = await self.call(
            f"""mutation($input: PlaceOrderInput!) {{ placeOrder(input: $input) {{
                order {{ number }} {ERRORS} }} }}""",
            {
                "input": {
                    "channelId": self.channel_id,
                    "externalId": external_id,
                    "customer": {"name": "Ann", "email": "ann@example.com"},
                    "lines": [{"sku": "MUG", "quantity": "1", "price": "4.50"}],
                }
            },
            token=self.api_token,
        )
        assert data["placeOrder"]["userErrors"] == [], data
        return data["placeOrder"]["order"]["number"]

    async def status(self, number: int) -> str:
        data = await self.call(
            "query($s: String) { orders(filter: {search: $s}) { nodes { number status } } }",
            {"s": str(number)},
        )
        return next(o["status"] for o in data["orders"]["nodes"] if o["number"] == number)

    async def count_orders(self) -> int:
        return (await self.call("{ orders(first: 1) { totalCount } }"))["orders"]["totalCount"]


async def place_order_setup(server: LiveServer) -> LiveShop:
    """Signs up a shop on the live server with one product in stock and a web-store channel."""
    email = f"live-{uuid.uuid4().hex[:10]}@example.com"
    password = "correct horse battery"
    async with httpx.AsyncClient(timeout=10) as http:
        body = (
            await http.post(
                f"{server.http}/graphql",
                json={
                    "query": f"""mutation($input: SignUpInput!) {{
                        signUp(input: $input) {{ token {ERRORS} }} }}""",
                    "variables": {
                        "input": {
                            "companyName": "Live shop",
                            "email": email,
                            "password": password,
                            "currency": "GBP",
                        }
                    },
                },
            )
        ).json()
    shop = LiveShop(server, email, password, body["data"]["signUp"]["token"], "", "")
    await shop.call(
        f"""mutation {{ upsertProducts(input: {{products: [{{article: "MUG", name: "Mug"}}]}}) {{
            {ERRORS} }} }}"""
    )
    warehouse = (
        await shop.call(
            f"""mutation {{ createWarehouse(input: {{name: "Main", kind: OWN}}) {{
                warehouse {{ id }} {ERRORS} }} }}"""
        )
    )["createWarehouse"]["warehouse"]["id"]
    await shop.call(
        f"""mutation($w: ID!) {{ postStockDocument(input: {{kind: RECEIPT, warehouseId: $w,
            lines: [{{sku: "MUG", quantity: "100", unitCost: "1.00"}}]}}) {{ {ERRORS} }} }}""",
        {"w": warehouse},
    )
    channel = await shop.call(
        f"""mutation($w: ID!) {{
            createSalesChannel(input: {{name: "Web", kind: WEB_STORE, warehouseId: $w}}) {{
            salesChannel {{ id }} {ERRORS} }} }}""",
        {"w": warehouse},
    )
    shop.channel_id = channel["createSalesChannel"]["salesChannel"]["id"]
    token = await shop.call(
        f"""mutation {{ createApiToken(input: {{name: "store", scopes: [ORDERS_WRITE, ORDERS_READ]}}) {{
            token {ERRORS} }} }}"""
    )
    shop.api_token = token["createApiToken"]["token"]
    return shop
