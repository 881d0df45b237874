"""Who handles an order: managers on shift, the account's assignment strategy, reassigning.

A new order gets its number and its manager in one step under a lock on the account row
(`take_number_and_manager`), so numbers have no gaps and round robin stays fair however many
orders are placed at once: the counter and the round-robin pointer both live in that row.

- ROUND_ROBIN: the on-shift managers in a fixed order (by id), each next order to the one after
  the manager who got the previous one.
- LEAST_LOADED: the on-shift manager with the fewest unconfirmed (NEW) orders; ties go round robin.
- MANUAL: nobody is assigned; someone calls `assign_order`.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.functions import Count

from models.accounts import Account, User
from models.orders import Order
from services.access import Actor, Permission, Role
from services.db import get_owned, transaction
from services.errors import Forbidden, InvalidInput
from services.order_timeline import EventSpec, OrderEventType, OrderStatus, record_event


class AssignmentStrategy(enum.StrEnum):
    ROUND_ROBIN = "ROUND_ROBIN"
    LEAST_LOADED = "LEAST_LOADED"
    MANUAL = "MANUAL"


# Who may be given orders by hand; only MANAGERs on shift get them automatically.
ASSIGNABLE_ROLES = (Role.MANAGER, Role.ADMIN, Role.OWNER)
MAX_CONFIRMATION_MINUTES = 24 * 60


@dataclass(frozen=True)
class OrderSettings:
    confirmation_minutes: int
    assignment_strategy: AssignmentStrategy


def _next_after(candidates: Sequence[uuid.UUID], previous: uuid.UUID | None) -> list[uuid.UUID]:
    """The candidates (sorted) in round-robin order, starting after `previous`."""
    ordered = sorted(candidates)
    if previous is None:
        return ordered
    split = next((i for i, c in enumerate(ordered) if c > previous), len(ordered))
    return ordered[split:] + ordered[:split]


async def managers_on_shift(account_id: uuid.UUID) -> list[uuid.UUID]:
    """The MANAGERs on shift, who get new orders. Read before the account row is locked: a shift that
    starts or ends meanwhile counts from the next order."""
    return list(
        await User.filter(
            account_id=account_id, role=Role.MANAGER, is_active=True, on_shift=True
        ).values_list("id", flat=True)
    )


async def _pick(account: Account, managers: Sequence[uuid.UUID]) -> uuid.UUID | None:
    strategy = account.assignment_strategy
    if strategy == AssignmentStrategy.MANUAL or not managers:
        return None
    rotation = _next_after(managers, account.last_assigned_manager_id)
    if strategy == AssignmentStrategy.LEAST_LOADED:
        loads = dict(
            await Order.filter(account_id=account.id, status=OrderStatus.NEW, manager_id__in=managers)
            .annotate(open_orders=Count("id"))
            .group_by("manager_id")
            .values_list("manager_id", "open_orders")
        )
        # min() keeps the first of equals, and the rotation puts the next in turn first.
        return min(rotation, key=lambda m: loads.get(m, 0))
    return rotation[0]


async def take_number_and_manager(
    account_id: uuid.UUID, managers: Sequence[uuid.UUID]
) -> tuple[int, uuid.UUID | None]:
    """The next order number and the manager (of `managers_on_shift`) for a new order; call inside
    the order's transaction.

    Locks the account row until the transaction ends: take it as late as possible.
    """
    # FOR NO KEY UPDATE: concurrent placements hold KEY SHARE locks on the account row (their new
    # rows reference it), which a plain FOR UPDATE would wait on crosswise: a deadlock.
    account = (
        await Account.filter(id=account_id)
        .select_for_update(no_key=True)
        .only("id", "last_order_number", "last_assigned_manager_id", "assignment_strategy")
        .first()
    )
    if account is None:
        raise InvalidInput.one(None, "NOT_FOUND", "account not found")
    number = account.last_order_number + 1
    manager_id = await _pick(account, managers)
    changes: dict[str, object] = {"last_order_number": number}
    if manager_id is not None:
        changes["last_assigned_manager_id"] = manager_id
    await Account.filter(id=account_id).update(**changes)
    return number, manager_id


async def assign_order(actor: Actor, order_id: object, manager_id: object) -> Order:
    """Gives the order to a manager (or an admin or owner); giving it to its manager again does nothing."""
    actor.require(Permission.ORDERS_WRITE)
    async with transaction():
        order = await get_owned(Order, actor, order_id, field=["orderId"], what="order", for_update=True)
        manager = await get_owned(User, actor, manager_id, field=["managerId"], what="manager")
        if not manager.is_active or manager.role not in ASSIGNABLE_ROLES:
            raise InvalidInput.one(
                ["managerId"], "NOT_A_MANAGER", "orders go to active managers, admins or owners"
            )
        if order.manager_id == manager.id:
            return order
        previous = order.manager_id
        order.manager_id = manager.id
        await order.save(update_fields=["manager_id", "updated_at"])
        await record_event(
            order, actor.user_id, EventSpec(OrderEventType.ASSIGNED, previous_manager_id=previous)
        )
    return order


async def set_manager_shift(actor: Actor, user_id: object | None, on_shift: bool) -> User:
    """Puts a manager on or off shift: managers themselves, or whoever manages users."""
    actor.require(Permission.ORDERS_WRITE)
    if actor.is_api_token or actor.user_id is None:
        raise Forbidden("a shift belongs to a person: sign in as the manager")
    own = user_id is None or str(user_id) == str(actor.user_id)
    if not own:
        actor.require(Permission.USERS_MANAGE)
    async with transaction():
        user = await get_owned(
            User, actor, actor.user_id if own else user_id, field=["userId"], what="user", for_update=True
        )
        if user.role != Role.MANAGER:
            raise InvalidInput.one(
                ["userId"], "NOT_A_MANAGER", "only users with the MANAGER role work shifts"
            )
        if not user.is_active:
            raise InvalidInput.one(["userId"], "INACTIVE", "the user has been deactivated")
        if user.on_shift != on_shift:
            user.on_shift = on_shift
            await user.save(update_fields=["on_shift"])
    return user


async def get_order_settings(actor: Actor) -> OrderSettings:
    actor.require(Permission.ORDERS_READ)
    account = await Account.get(id=actor.account_id)
    return OrderSettings(account.confirmation_minutes, AssignmentStrategy(account.assignment_strategy))


async def update_order_settings(
    actor: Actor, *, confirmation_minutes: int | None = None, assignment_strategy: str | None = None
) -> OrderSettings:
    """Changes the confirmation time (for orders placed from now on) and the assignment strategy."""
    actor.require(Permission.SETTINGS_MANAGE)
    changes: dict[str, object] = {}
    if confirmation_minutes is not None:
        if not 1 <= confirmation_minutes <= MAX_CONFIRMATION_MINUTES:
            raise InvalidInput.one(
                ["confirmationMinutes"],
                "OUT_OF_RANGE",
                f"the confirmation time is 1 to {MAX_CONFIRMATION_MINUTES} minutes",
            )
        changes["confirmation_minutes"] = confirmation_minutes
    if assignment_strategy is not None:
        if assignment_strategy not in AssignmentStrategy.__members__:
            raise InvalidInput.one(
                ["assignmentStrategy"], "INVALID", f"one of {', '.join(AssignmentStrategy)}"
            )
        changes["assignment_strategy"] = assignment_strategy
    if changes:
        async with transaction():
            await Account.filter(id=actor.account_id).update(**changes)
    return await get_order_settings(actor)
