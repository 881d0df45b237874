"""The Python client examples run against a live server: the store pushing orders retries safely,
the live feed client prints order events as they happen."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tests.live_server import LiveServer, live_server_fixture, place_order_setup  # noqa: F401 - the fixture

EXAMPLES = Path(__file__).resolve().parents[1] / "client-examples" / "python"


class DroppingProxy:
    """A loopback TCP proxy that lets the first `drop` requests reach the server but loses the
    answers (the connection closes without a byte back), as a flaky network does."""

    def __init__(self, upstream_port: int, drop: int) -> None:
        self.upstream_port = upstream_port
        self.drop = drop
        self.connections = 0

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        lose_answer = self.connections <= self.drop
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def forward() -> None:
            while data := await reader.read(65536):
                up_writer.write(data)
                await up_writer.drain()

        forwarding = asyncio.create_task(forward())
        try:
            while data := await up_reader.read(65536):
                if not lose_answer:
                    writer.write(data)
                    await writer.drain()
        finally:
            forwarding.cancel()
            up_writer.close()
            writer.close()


async def _run(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_store_push_retries_a_lost_answer_without_placing_twice(
    live_server: LiveServer, tmp_path: Path
) -> None:
    shop = await place_order_setup(live_server)
    orders = [
        {
            "id": f"web-{n}",
            "customer": {"name": "Ann", "email": "ann@example.com"},
            "lines": [{"sku": "MUG", "quantity": "2", "price": "4.50"}],
        }
        for n in (1001, 1002, 1003)
    ]
    file = tmp_path / "orders.json"
    file.write_text(json.dumps(orders))
    port = int(live_server.http.rsplit(":", 1)[1])
    async with DroppingProxy(port, drop=2) as proxy_port:
        url = f"http://127.0.0.1:{proxy_port}/graphql"
        args = [str(EXAMPLES / "store_push.py"), str(file), "--url", url, "--token", shop.api_token]
        code, out, err = await _run(*args, "--channel-id", shop.channel_id)
    assert code == 0, err
    assert err.count("retrying") == 2  # the first two answers were lost on the way
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["externalId"] for r in results] == ["web-1001", "web-1002", "web-1003"]
    assert await shop.count_orders() == 3  # the retries found the orders the lost answers were about

    # The whole push again (a store re-sending after a restart): the same orders, none new.
    code, again, err = await _run(
        str(EXAMPLES / "store_push.py"), str(file), "--url", f"{live_server.http}/graphql",
        "--token", shop.api_token, "--channel-id", shop.channel_id,
    )  # fmt: skip
    assert code == 0, err
    assert [json.loads(line)["number"] for line in again.splitlines()] == [r["number"] for r in results]
    assert await shop.count_orders() == 3


async def test_store_push_reports_a_bad_order_and_does_not_retry_it(
    live_server: LiveServer, tmp_path: Path
) -> None:
    shop = await place_order_setup(live_server)
    file = tmp_path / "orders.json"
    file.write_text(
        json.dumps(
            [{"id": "bad-1", "customer": {"name": "Ann"}, "lines": [{"sku": "NOPE", "quantity": "1"}]}]
        )
    )
    code, out, err = await _run(
        str(EXAMPLES / "store_push.py"), str(file), "--url", f"{live_server.http}/graphql",
        "--token", shop.api_token, "--channel-id", shop.channel_id,
    )  # fmt: skip
    assert code == 1 and "retrying" not in err
    (result,) = [json.loads(line) for line in out.splitlines()]
    assert {e["code"] for e in result["errors"]} >= {"NOT_FOUND"}


async def test_live_orders_prints_order_events_as_they_happen(live_server: LiveServer) -> None:
    shop = await place_order_setup(live_server)
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLES / "live_orders.py"),
        "--url", live_server.ws, "--token", shop.token, "--count", "1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    placed: list[int] = []
    try:
        # The client subscribes to live events only: place orders until it has seen one.
        line = b""
        for attempt in range(40):
            placed.append(await shop.place(f"live-{attempt}"))
            try:
                line = await asyncio.wait_for(process.stdout.readline(), 0.5)  # type: ignore[union-attr]
            except TimeoutError:
                continue
            if line:
                break
        assert line, (await process.stderr.read()).decode()  # type: ignore[union-attr]
        event = json.loads(line)
        assert event["type"] == "CREATED" and event["order"]["number"] in placed
        assert event["id"] and event["order"]["status"] == "NEW"
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
