"""Injectable time: the service never calls datetime.now() itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real time, UTC-aware."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock tests and the demo move by hand."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


Anchor = tuple[datetime, datetime]  # (demo time, wall time at which the demo time was set)


class DemoClock:
    """The demo's own clock, persisted (one row written by `smeflow demo` and the admin's clock page)
    so that the web processes and the worker all read the same time: the demo time runs on from the
    moment it was set, like a wall clock set to another date. Without a stored row it is the real time.

    ``read`` returns the stored anchor (or None); it is asked at most every ``recheck_seconds``.
    """

    def __init__(self, read: Callable[[], Anchor | None], *, wall: Clock | None = None,
                 recheck_seconds: float = 1.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self._wall = wall or SystemClock()
        self._recheck = recheck_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._anchor: Anchor | None = None
        self._checked_at = float("-inf")

    def invalidate(self) -> None:
        """Read the stored time again on the next call (after this process moved it)."""
        with self._lock:
            self._checked_at = float("-inf")

    def anchor(self) -> Anchor | None:
        with self._lock:
            now = self._monotonic()
            if now - self._checked_at >= self._recheck:
                self._anchor = self._read()
                self._checked_at = now
            return self._anchor

    @property
    def active(self) -> bool:
        """Whether a demo time is stored (demo mode)."""
        return self.anchor() is not None

    def wall_now(self) -> datetime:
        """The real time (what the stored anchor is measured against)."""
        return self._wall.now()

    def now(self) -> datetime:
        anchor = self.anchor()
        wall = self._wall.now()
        if anchor is None:
            return wall
        demo_at, set_at = anchor
        return demo_at + max(wall - set_at, timedelta(0))
