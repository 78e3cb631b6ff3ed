"""The unit of work owns the transaction: engine state, work items, timers, audit event and
payouts of one state change commit together or not at all."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker


class UnitOfWork:
    """`with uow: ...; uow.commit()`. Leaving the block without commit rolls back."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory
        self._session: Session | None = None
        self._after_commit: list[Callable[[], None]] = []

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self._factory()
        self._after_commit = []
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # close() rolls back what was not committed and detaches the objects, keeping the
        # attributes they had loaded (a rollback would expire them).
        self.session.close()
        self._session = None
        self._after_commit = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` only once the transaction has committed (e.g. warm a cache)."""
        self._after_commit.append(callback)

    def commit(self) -> None:
        self.session.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()
