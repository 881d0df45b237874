"""The confirmation deadline: watching it, and how fast orders get confirmed.

Every order must be confirmed within the account's confirmation time (5 minutes unless set
otherwise). `mark_overdue_orders` marks the orders still NEW after their deadline and writes one
DEADLINE_MISSED event for each: the mark is a conditional update (`deadline_missed_at IS NULL`),
so however many watchers run at once, each order is reported exactly once. workers/cron.py runs
it every 10 seconds (an arq cron job, or in the server process without Redis).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import F, Q
from tortoise.functions import Count

from models.orders import Order, SalesChannel
from services.access import Actor, Permission
from services.db import parse_id, transaction
from services.errors import InvalidInput, NotFound
from services.order_timeline import EventSpec, OrderEventType, OrderStatus, record_event

BATCH = 500
MAX_STATS_DAYS = 366


async def mark_overdue_orders(now: datetime | None = None, *, batch: int = BATCH) -> int:
    """Marks the orders of every account that are still NEW past their deadline; returns how many."""
    now = now or datetime.now(UTC)
    due = await (
        Order.filter(status=OrderStatus.NEW, confirm_deadline__lte=now, deadline_missed_at__isnull=True)
        .order_by("confirm_deadline")
        .limit(batch)
        .values_list("id", "account_id")
    )
    marked = 0
    for order_id, account_id in due:
        async with transaction():
            changed = await Order.filter(
                id=order_id, account_id=account_id, status=OrderStatus.NEW, deadline_missed_at__isnull=True
            ).update(deadline_missed_at=now)
            if not changed:
                continue  # confirmed meanwhile, or another watcher got it first
            order = await Order.get(id=order_id, account_id=account_id)
            await record_event(order, None, EventSpec(OrderEventType.DEADLINE_MISSED))
            marked += 1
    return marked


# --- how fast orders are confirmed ---------------------------------------------------------------


@dataclass(frozen=True)
class ConfirmationFigures:
    """For one manager (or all, `manager_id` None) over a period.

    `due`: the orders that had to be confirmed by now (confirmed, or past their deadline);
    `within_deadline_share`: of those, the share confirmed in time.
    """

    manager_id: uuid.UUID | None
    due: int
    confirmed: int
    within_deadline: int
    median_seconds: float | None
    p90_seconds: float | None

    @property
    def within_deadline_share(self) -> float | None:
        return self.within_deadline / self.due if self.due else None


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between the closest ranks, as PostgreSQL's percentile_cont."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


async def confirmation_stats(
    actor: Actor,
    *,
    created_from: datetime,
    created_to: datetime,
    channel_ids: Sequence[object] = (),
    now: datetime | None = None,
) -> tuple[ConfirmationFigures, list[ConfirmationFigures]]:
    """Overall and per manager: orders placed in [from, to), time to confirm and share within deadline."""
    actor.require(Permission.ORDERS_READ)
    if created_to <= created_from:
        raise InvalidInput.one(["to"], "INVALID_PERIOD", "the period must end after it starts")
    if (created_to - created_from).days > MAX_STATS_DAYS:
        raise InvalidInput.one(["to"], "PERIOD_TOO_LONG", f"a period is at most {MAX_STATS_DAYS} days")
    now = now or datetime.now(UTC)
    query = Order.filter(account_id=actor.account_id, created_at__gte=created_from, created_at__lt=created_to)
    if channel_ids:
        ids = [parse_id(c, ["channelIds"], "sales channel") for c in channel_ids]
        known = await SalesChannel.filter(account_id=actor.account_id, id__in=ids).count()
        if known != len(set(ids)):
            raise NotFound(["channelIds"], "sales channel")
        query = query.filter(channel_id__in=ids)
    due = Q(confirmed_at__isnull=False) | Q(deadline_missed_at__isnull=False) | Q(confirm_deadline__lte=now)
    due &= ~Q(status=OrderStatus.CANCELLED, confirmed_at__isnull=True, deadline_missed_at__isnull=True)
    counts = (
        await query.filter(due)
        .annotate(
            due=Count("id"),
            confirmed=Count("id", _filter=Q(confirmed_at__isnull=False)),
            within=Count("id", _filter=Q(confirmed_at__lte=F("confirm_deadline"))),
        )
        .group_by("manager_id")
        .values("manager_id", "due", "confirmed", "within")
    )
    # The times themselves come as one list and the percentiles are taken here: PostgreSQL has
    # percentile_cont and interval arithmetic, SQLite neither, and one query of pairs serves both.
    pairs = await query.filter(confirmed_at__isnull=False).values_list(
        "manager_id", "created_at", "confirmed_at"
    )
    durations: dict[uuid.UUID | None, list[float]] = {}
    for manager_id, created_at, confirmed_at in pairs:
        durations.setdefault(manager_id, []).append((confirmed_at - created_at).total_seconds())

    def figures(manager_id: uuid.UUID | None, due_n: int, confirmed: int, within: int, times: list[float]):
        times = sorted(times)
        median, p90 = percentile(times, 0.5), percentile(times, 0.9)
        return ConfirmationFigures(
            manager_id,
            due_n,
            confirmed,
            within,
            None if median is None else round(median, 3),
            None if p90 is None else round(p90, 3),
        )

    per_manager = [
        figures(
            row["manager_id"],
            row["due"],
            row["confirmed"],
            row["within"],
            durations.get(row["manager_id"], []),
        )
        for row in counts
    ]
    per_manager.sort(key=lambda f: (f.manager_id is None, str(f.manager_id)))
    overall = figures(
        None,
        sum(f.due for f in per_manager),
        sum(f.confirmed for f in per_manager),
        sum(f.within_deadline for f in per_manager),
        [t for times in durations.values() for t in times],
    )
    return overall, [f for f in per_manager if f.manager_id is not None]
