"""The errors of diagram expressions: refused before they ran, or stopped by their budget."""

from __future__ import annotations

from SpiffWorkflow.exceptions import SpiffWorkflowException


class ExpressionError(ValueError, SpiffWorkflowException):
    """Base class: a diagram expression was refused before it ran, or stopped while it ran.

    Also a SpiffWorkflowException, so that SpiffWorkflow passes it through
    with its message (adding notes) instead of wrapping it in a generic
    "Error evaluating expression" that drops the reason.
    """

    def __init__(self, message: str, line: int | None = None, col: int | None = None) -> None:
        super().__init__(message)
        self.notes: list[str] = []
        self.message = message
        self.line = line
        self.col = col

    def __str__(self) -> str:
        return ". ".join([self.message, *self.notes])


class ExpressionSyntaxError(ExpressionError):
    """The source is not valid Python; `line`/`col` point into the source."""


class UnsafeExpression(ExpressionError):
    """The source uses a construct outside the whitelist, or a literal past the budget; the message
    names it."""


class BudgetExceeded(ExpressionError):
    """Running the source would build a value, or do work, past the evaluation's budget
    (services.engine.budget); it was stopped before it did, and the step fails."""


class SequenceTooLong(BudgetExceeded):
    """Running the source would repeat a sequence (`[0] * n`, `"a" * n`) past MAX_SEQUENCE_LENGTH."""
