"""The confirmation deadline: set at placing, watched, reported once; confirmation figures."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from models.orders import Order
from services.order_deadlines import mark_overdue_orders, percentile
from tests.test_orders_helpers import SETTINGS, add_manager, open_shop, order_events, place_ok, set_status

FIGURES = "due confirmed withinDeadline withinDeadlineShare medianSeconds p90Seconds manager { id }"
STATS = f"""query($from: DateTime!, $to: DateTime!, $channelIds: [ID!]) {{
  confirmationStats(from: $from, to: $to, channelIds: $channelIds) {{
    overall {{ {FIGURES} }} byManager {{ {FIGURES} }} }} }}"""


async def mark_all(now: datetime) -> None:
    """Runs the watcher until nothing is left (other tests' orders share the database)."""
    while await mark_overdue_orders(now):
        pass


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def shift_times(
    order_id: str, *, placed_ago: timedelta, confirmed_after: timedelta | None = None
) -> None:
    """Moves an order back in time, as if placed `placed_ago` (and confirmed after `confirmed_after`)."""
    row = await Order.get(id=order_id)
    placed = datetime.now(UTC) - placed_ago
    deadline = placed + (row.confirm_deadline - row.created_at)
    changes: dict = {"created_at": placed, "confirm_deadline": deadline}
    if confirmed_after is not None:
        changes["confirmed_at"] = placed + confirmed_after
    await Order.filter(id=order_id).update(**changes)


async def test_the_confirm_deadline_is_placed_plus_the_accounts_confirmation_time(company):
    shop = await open_shop(company)
    order = await place_ok(shop, [("A", 1)])
    row = await Order.get(id=order["id"])
    assert row.confirm_deadline - row.created_at == timedelta(minutes=5)
    assert at(order["confirmDeadline"]) == row.confirm_deadline
    await shop.api.mutate("updateOrderSettings", SETTINGS, {"input": {"confirmationMinutes": 15}})
    later = await Order.get(id=(await place_ok(shop, [("A", 1)]))["id"])
    assert later.confirm_deadline - later.created_at == timedelta(minutes=15)


async def test_the_watcher_marks_missed_orders_and_reports_each_exactly_once(company):
    shop = await open_shop(company)
    late = await place_ok(shop, [("A", 1)])
    confirmed = await place_ok(shop, [("A", 1)])
    fresh = await place_ok(shop, [("A", 1)])
    await set_status(shop, confirmed["id"], "CONFIRMED")
    now = datetime.now(UTC) + timedelta(minutes=5, seconds=1)
    await Order.filter(id=fresh["id"]).update(confirm_deadline=now + timedelta(minutes=1))
    # Several watchers at once (several server processes): each order is still reported once.
    await asyncio.gather(*(mark_all(now) for _ in range(4)))
    await mark_all(now + timedelta(seconds=59))
    missed = await order_events(shop, "DEADLINE_MISSED")
    assert [str(e.order_id) for e in missed] == [late["id"]]
    assert missed[0].payload["number"] == 1 and missed[0].payload["channel_id"] == shop.channel_id
    row = await Order.get(id=late["id"])
    assert row.deadline_missed_at == now
    body = await shop.api.ok(
        "query($id: ID!) { order(id: $id) { deadlineMissedAt events { type actor { id } } } }",
        {"id": late["id"]},
    )
    assert body["order"]["events"][-1] == {"type": "DEADLINE_MISSED", "actor": None}
    # Confirming late afterwards does not report it again.
    await set_status(shop, late["id"], "CONFIRMED")
    await mark_all(now + timedelta(hours=1))
    assert len(await order_events(shop, "DEADLINE_MISSED")) == 2  # late, and now fresh


async def test_overdue_orders_are_the_unconfirmed_ones_past_their_deadline(company):
    shop = await open_shop(company)
    late = await place_ok(shop, [("A", 1)])
    on_time = await place_ok(shop, [("A", 1)])
    late_confirmed = await place_ok(shop, [("A", 1)])
    await shift_times(late["id"], placed_ago=timedelta(minutes=6))
    await shift_times(late_confirmed["id"], placed_ago=timedelta(minutes=6))
    await set_status(shop, late_confirmed["id"], "CONFIRMED")
    body = await shop.api.ok("{ overdueOrders { totalCount nodes { id overdue } } }")
    assert body["overdueOrders"]["nodes"] == [{"id": late["id"], "overdue": True}]
    assert body["overdueOrders"]["totalCount"] == 1
    filtered = await shop.api.ok("{ orders(filter: {overdue: false}) { nodes { id overdue } } }")
    assert [n["id"] for n in filtered["orders"]["nodes"]] == [on_time["id"], late_confirmed["id"]]


def test_percentiles_interpolate_like_percentile_cont():
    assert percentile([], 0.5) is None
    assert percentile([10.0], 0.9) == 10.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([float(i) for i in range(1, 11)], 0.9) == 9.1


async def test_confirmation_figures_per_manager_and_overall(company):
    shop = await open_shop(company, {"C": 10})
    managers = sorted([(await add_manager(shop, f"st{i}"))[1] for i in range(2)])
    orders = [await place_ok(shop, [("C", 1)]) for _ in range(6)]
    by_manager: dict[str, list[str]] = {}
    for order in orders:
        by_manager.setdefault(order["manager"]["id"], []).append(order["id"])
    first, second = (by_manager[m] for m in managers)
    # First manager: confirmed in 60 s, 120 s and 400 s (late). Second: 30 s, one late and never, one pending.
    for order_id, seconds in zip(first, (60, 120, 400), strict=True):
        await set_status(shop, order_id, "CONFIRMED")
        await shift_times(order_id, placed_ago=timedelta(hours=1), confirmed_after=timedelta(seconds=seconds))
    await set_status(shop, second[0], "CONFIRMED")
    await shift_times(second[0], placed_ago=timedelta(hours=1), confirmed_after=timedelta(seconds=30))
    await shift_times(second[1], placed_ago=timedelta(hours=1))
    now = datetime.now(UTC)
    body = await shop.api.ok(
        STATS, {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(minutes=1)).isoformat()}
    )
    stats = body["confirmationStats"]
    assert stats["overall"] == {
        "due": 5,
        "confirmed": 4,
        "withinDeadline": 3,
        "withinDeadlineShare": 0.6,
        "medianSeconds": 90.0,
        "p90Seconds": 316.0,
        "manager": None,
    }
    rows = {row["manager"]["id"]: row for row in stats["byManager"]}
    assert rows[managers[0]] == {
        "due": 3,
        "confirmed": 3,
        "withinDeadline": 2,
        "withinDeadlineShare": 2 / 3,
        "medianSeconds": 120.0,
        "p90Seconds": 344.0,
        "manager": {"id": managers[0]},
    }
    assert rows[managers[1]]["due"] == 2 and rows[managers[1]]["withinDeadlineShare"] == 0.5
    assert rows[managers[1]]["medianSeconds"] == 30.0
    empty = await shop.api.ok(
        STATS, {"from": (now - timedelta(days=3)).isoformat(), "to": (now - timedelta(days=2)).isoformat()}
    )
    assert empty["confirmationStats"]["overall"]["withinDeadlineShare"] is None
    assert empty["confirmationStats"]["byManager"] == []
    backwards = await shop.api.raw(
        STATS, {"from": now.isoformat(), "to": (now - timedelta(days=1)).isoformat()}
    )
    assert backwards["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
