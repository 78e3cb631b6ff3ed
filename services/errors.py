"""One exception tree for the whole service; the ways in (CLI, web) turn it into answers in one place."""

from __future__ import annotations


class SmeflowError(Exception):
    """Base of every error the service reports to a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(SmeflowError):
    """Bad input: names the field and the rule it broke."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class NotFound(SmeflowError):
    """Does not exist, or the user may not see it (the two are not told apart)."""


class Forbidden(SmeflowError):
    """The user may see it but may not do this."""


class Conflict(SmeflowError):
    """Someone else changed it first, or it would break a uniqueness or budget rule."""


class InsufficientFunds(Conflict):
    """A payout would exceed the fund's remaining budget."""


class EngineFailure(SmeflowError):
    """The workflow engine refused a step (a diagram error); nothing was stored."""
