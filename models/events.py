"""The account event log: what live feeds carry, kept so a client that reconnects misses nothing.

Every event has a `position` in its account's log, taken from the account row's counter
(`Account.event_seq`) under that row's lock, so positions commit in order and have no gaps
within an account. Topics (`orders`, `stock`) share one sequence per account.
"""

from __future__ import annotations

from tortoise import fields

from models.base import AccountOwned


class Event(AccountOwned):
    """One entry of an account's event log, written by services.events.record in the transaction
    of the change it reports and published to the live feeds after that transaction commits."""

    position = fields.BigIntField()
    topic = fields.CharField(max_length=16)
    type = fields.CharField(max_length=32)
    order_id = fields.UUIDField(null=True)
    actor_user_id = fields.UUIDField(null=True)
    payload = fields.JSONField(default=dict)
    at = fields.DatetimeField()

    class Meta:
        table = "account_event"
        unique_together = (("account_id", "position"),)
        indexes = (("account_id", "topic", "position"), ("account_id", "order_id", "position"))
