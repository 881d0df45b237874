"""Errors the services raise. The API turns them into `userErrors` or coded GraphQL errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (`field`, a path into the input), a code, and a message."""

    field: tuple[str, ...] | None
    code: str
    message: str


class ServiceError(Exception):
    """Base of the errors a caller is meant to see. Anything else is a bug and gets masked."""


class InvalidInput(ServiceError):
    """The input breaks a rule. Raised before anything is written, or inside a rolled-back transaction."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.message for p in self.problems))

    @classmethod
    def one(cls, field: Sequence[str] | None, code: str, message: str) -> InvalidInput:
        return cls([Problem(tuple(field) if field is not None else None, code, message)])


class NotFound(InvalidInput):
    """The object does not exist in the caller's account. Another account's object is reported the same."""

    def __init__(self, field: Sequence[str] | None, what: str) -> None:
        super().__init__([Problem(tuple(field) if field else None, "NOT_FOUND", f"{what} not found")])


class Unauthenticated(ServiceError):
    code = "UNAUTHENTICATED"


class Forbidden(ServiceError):
    code = "FORBIDDEN"


class ProblemList:
    """Collects problems while checking an input, then raises them together."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, field: Sequence[str] | None, code: str, message: str) -> None:
        self.problems.append(Problem(tuple(field) if field is not None else None, code, message))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise InvalidInput(self.problems)
