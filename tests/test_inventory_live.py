"""Live stock: `stockChanges` over a real uvicorn server and WebSocket clients; publishing after commit.

The server runs `uvicorn api.main:app` on a free loopback port against the test database, with
the in-process (`memory://`) broadcast; every write goes through that server, as a store's would.
"""

from __future__ import annotations

import contextlib
import uuid

import httpx
import pytest

from services import broadcast, inventory
from services.db import transaction
from services.errors import InvalidInput
from services.inventory import DocumentLineSpec, DocumentSpec, ReservationRequest
from tests.conftest import sign_up
from tests.live_helpers import LEGACY_WS, TRANSPORT_WS, Ended, LiveClient, ServerProcess
from tests.test_accounts import add_token
from tests.test_inventory_helpers import assert_invariants, gql_warehouse, post, post_ok, receive, stockroom

STOCK_CHANGES = """subscription($v: [ID!], $w: [ID!]) { stockChanges(variantIds: $v, warehouseIds: $w) {
  onHand reserved freeNow available variant { sku } warehouse { name } } }"""
UPSERT = """mutation($input: UpsertProductsInput!) { upsertProducts(input: $input) {
  products { variants { id sku } } userErrors { field code message } } }"""


@pytest.fixture(scope="module")
async def server(backend):
    process = await ServerProcess(backend.database_url, None).start()
    yield process
    await process.stop()


@pytest.fixture
async def http(db, server):
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10.0) as client:
        yield client


async def shop_on(http: httpx.AsyncClient):
    """A company signed up through the server, with variants A and B and warehouses Main and Second."""
    company = await sign_up(http)
    products = [{"article": "ART", "name": "Thing", "variants": [{"sku": "A"}, {"sku": "B"}]}]
    payload = await company.api.mutate("upsertProducts", UPSERT, {"input": {"products": products}})
    variants = {v["sku"]: v["id"] for v in payload["products"][0]["variants"]}
    main = await gql_warehouse(company, "Main")
    second = await gql_warehouse(company, "Second")
    return company, variants, main, second


@contextlib.asynccontextmanager
async def connected(server: ServerProcess, token: str, protocol: str = TRANSPORT_WS):
    client = await LiveClient.connect(server.ws_url, token, protocol)
    try:
        yield client
    finally:
        await client.close()


async def change(client: LiveClient, op: str, within: float = 5.0) -> tuple[str, str, str]:
    """The next level the operation gets: (warehouse, sku, onHand)."""
    level = (await client.next(op, within))["stockChanges"]
    return (level["warehouse"]["name"], level["variant"]["sku"], level["onHand"])


async def primed(client: LiveClient, op: str, company, warehouse: str, sku: str) -> None:
    """Waits until the server has subscribed: a COUNT that changes nothing still says the level changed."""
    for _ in range(20):
        await post_ok(company, kind="COUNT", warehouseId=warehouse, lines=[{"sku": sku, "quantity": "0"}])
        if not await client.quiet(op, within=0.5):
            await client.next(op)
            return
    raise AssertionError("the subscription never started")


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_stock_changes_arrive_after_commit_filtered_and_never_for_a_rolled_back_document(
    http, server, protocol
):
    company, variants, main, second = await shop_on(http)
    async with connected(server, company.token, protocol) as client:
        by_variant = await client.subscribe(STOCK_CHANGES, {"v": [variants["A"]]})
        by_warehouse = await client.subscribe(STOCK_CHANGES, {"w": [second]})
        await primed(client, by_variant, company, main, "A")
        await primed(client, by_warehouse, company, second, "B")

        await post_ok(
            company,
            kind="RECEIPT",
            warehouseId=main,
            lines=[{"sku": "A", "quantity": "5", "unitCost": "1.00"}],
        )
        assert await change(client, by_variant) == ("Main", "A", "5")

        # Rolled back (one side of the transfer may have been written before the other was short):
        # neither subscriber hears of it.
        refused = await post(
            company,
            kind="TRANSFER",
            warehouseId=main,
            toWarehouseId=second,
            lines=[{"sku": "A", "quantity": "9"}],
        )
        assert [e["code"] for e in refused["userErrors"]] == ["INSUFFICIENT_STOCK"]
        await post_ok(company, kind="SHIPMENT", warehouseId=main, lines=[{"sku": "A", "quantity": "2"}])
        assert await change(client, by_variant) == ("Main", "A", "3")

        await post_ok(
            company,
            kind="TRANSFER",
            warehouseId=main,
            toWarehouseId=second,
            lines=[{"sku": "A", "quantity": "1"}],
        )
        assert sorted([await change(client, by_variant), await change(client, by_variant)]) == [
            ("Main", "A", "2"),
            ("Second", "A", "1"),
        ]
        assert await change(client, by_warehouse) == ("Second", "A", "1")

        await post_ok(
            company,
            kind="RECEIPT",
            warehouseId=main,
            lines=[{"sku": "B", "quantity": "4", "unitCost": "1.00"}],
        )
        assert await client.quiet(by_variant) and await client.quiet(by_warehouse)
        await post_ok(
            company,
            kind="TRANSFER",
            warehouseId=main,
            toWarehouseId=second,
            lines=[{"sku": "B", "quantity": "4"}],
        )
        assert await change(client, by_warehouse) == ("Second", "B", "4")
        assert await client.quiet(by_variant)


async def test_a_subscriber_sees_only_its_own_accounts_stock_and_foreign_ids_are_not_found(http, server):
    company, variants, main, _ = await shop_on(http)
    other, _, other_main, _ = await shop_on(http)
    async with connected(server, other.token) as client:
        everything = await client.subscribe(STOCK_CHANGES)
        await primed(client, everything, other, other_main, "A")
        await post_ok(
            company,
            kind="RECEIPT",
            warehouseId=main,
            lines=[{"sku": "A", "quantity": "1", "unitCost": "1.00"}],
        )
        assert await client.quiet(everything, within=1.0)
        for variables in ({"v": [variants["A"]]}, {"w": [main]}, {"v": ["not-an-id"]}):
            op = await client.subscribe(STOCK_CHANGES, variables)
            with pytest.raises(Ended) as ended:
                await client.next(op)
            assert ended.value.errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_store_token_without_stock_read_may_not_watch_stock(http, server):
    company, _, _, _ = await shop_on(http)
    token = (await add_token(company, ["ORDERS_READ"])).token
    async with connected(server, token) as client:
        op = await client.subscribe(STOCK_CHANGES)
        with pytest.raises(Ended) as ended:
            await client.next(op)
        assert ended.value.errors[0]["extensions"]["code"] == "FORBIDDEN"


@pytest.fixture
async def live(db):
    """This process's broadcast (in memory), unless a test module already started one."""
    try:
        await broadcast.start(None)
    except RuntimeError:  # started already, with Redis: that carries our messages as well
        yield
        return
    yield
    await broadcast.stop()


async def test_every_kind_of_stock_change_is_published_after_commit_and_none_that_rolled_back(live, company):
    room = await stockroom(company)
    a, b = room.variants["A"], room.variants["B"]
    main = room.warehouse_id
    line = uuid.uuid4()
    async with broadcast.subscribe(inventory.stock_channel(room.account_id)) as messages:

        async def published() -> set[tuple[str, str]] | None:
            message = await messages.get(within=2.0)
            return None if message is None else {tuple(pair) for pair in message["levels"]}

        async def nothing() -> bool:
            return await messages.get(within=0.3) is None

        level = {(str(main), str(a))}
        await receive(room.actor, main, {a: 5, b: 1})
        assert await published() == {(str(main), str(a)), (str(main), str(b))}
        await inventory.reserve_stock(
            room.account_id, [ReservationRequest(line, main, a, 2000)], allow_backorders=False
        )
        assert await published() == level
        await inventory.reserve_stock(
            room.account_id, [ReservationRequest(line, main, a, 2000)], allow_backorders=False
        )
        assert await nothing()  # reserved already: nothing changed
        await inventory.release_reservations(room.account_id, [line])
        assert await published() == level
        await inventory.reserve_stock(
            room.account_id, [ReservationRequest(line, main, a, 1000)], allow_backorders=False
        )
        assert await published() == level
        await inventory.ship_reservations(room.account_id, [line], user_id=None, reference="o-1")
        assert await published() == level
        await inventory.return_to_stock(
            room.account_id, [ReservationRequest(line, main, a, 1000)], user_id=None, reference="o-1"
        )
        assert await published() == level
        await inventory.adjust_incoming(room.account_id, [(main, a, 3000)])
        assert await published() == level

        # Rolled back: a short reservation, a short document, and work whose caller rolled back.
        with pytest.raises(InvalidInput):
            await inventory.reserve_stock(
                room.account_id, [ReservationRequest(uuid.uuid4(), main, a, 99_000)], allow_backorders=False
            )
        with pytest.raises(InvalidInput):
            await inventory.post_document(
                room.actor,
                DocumentSpec(
                    kind="SHIPMENT",
                    warehouse_id=main,
                    lines=[
                        DocumentLineSpec(variant_id=b, quantity="1"),
                        DocumentLineSpec(variant_id=a, quantity="99"),
                    ],
                ),
            )
        with pytest.raises(RuntimeError):
            async with transaction():
                await inventory.reserve_stock(
                    room.account_id, [ReservationRequest(uuid.uuid4(), main, a, 1000)], allow_backorders=False
                )
                raise RuntimeError("the order failed after reserving")
        assert await nothing()
        await assert_invariants(room.account_id)
