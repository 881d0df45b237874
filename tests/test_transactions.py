"""services.db.transaction: after-commit callbacks run only for committed work."""

import pytest

from models.accounts import Account
from services.db import on_commit, transaction


async def test_after_commit_callbacks_run_once_the_outermost_transaction_commits(db):
    seen: list[str] = []

    async def note() -> None:
        seen.append("published")

    async with transaction():
        await Account.create(name="t")
        async with transaction():
            on_commit(note)
        assert seen == []
    assert seen == ["published"]


async def test_callbacks_of_a_rolled_back_savepoint_are_dropped(db):
    seen: list[str] = []

    async def note(text: str) -> None:
        seen.append(text)

    async with transaction():
        on_commit(lambda: note("outer"))
        with pytest.raises(ValueError):
            async with transaction():
                on_commit(lambda: note("inner"))
                raise ValueError("roll back the savepoint")
    assert seen == ["outer"]


async def test_callbacks_of_a_rolled_back_transaction_never_run(db):
    seen: list[str] = []

    async def note() -> None:
        seen.append("x")

    with pytest.raises(RuntimeError):
        async with transaction():
            on_commit(note)
            raise RuntimeError("boom")
    assert seen == []
