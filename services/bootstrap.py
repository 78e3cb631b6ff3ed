"""One place that wires settings, database, engine, calendar and clock for the CLI, the web app
and every flow alike. Nothing connects to a database at import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from argon2 import PasswordHasher
from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from config.policy import Edition, ReviewUnit, load_editions, load_review_units
from config.settings import Settings, get_settings
from services.accounts.users import make_hasher
from services.awards.cases import CaseRuntime
from services.db.session import make_engine, make_session_factory
from services.engine.runtime import Engine
from services.mail.outbox import Mailer
from services.time.calendar import WorkingCalendar
from services.time.clock import Clock, ManualClock, SystemClock
from services.uow import UnitOfWork


@dataclass
class Services:
    """The wired service: what every entry point holds."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def db(self) -> DbEngine:
        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.db)

    @cached_property
    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(self.settings.calendar_dir, watch_dir=self.settings.calendar_install_dir,
                               package_through=self.settings.calendar_package_through)

    @cached_property
    def editions(self) -> list[Edition]:
        return load_editions(self.settings.policy_dir)

    @cached_property
    def units(self) -> list[ReviewUnit]:
        return load_review_units()

    @cached_property
    def engine(self) -> Engine:
        return Engine(self.stage_deadline)

    @cached_property
    def runtime(self) -> CaseRuntime:
        return CaseRuntime(self.engine, provisional=self.deadline_is_provisional,
                           limits=lambda: self.settings.stage_limits)

    @cached_property
    def password_hasher(self) -> PasswordHasher:
        return make_hasher(self.settings.argon2_time_cost, self.settings.argon2_memory_kib)

    @cached_property
    def mailer(self) -> Mailer:
        from notifications.smtp import SmtpMailer

        return SmtpMailer(self.settings)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    def stage_deadline(self, stage: str, start: datetime) -> datetime:
        """When a stage that starts at `start` is due, per its time limit in working days."""
        limits = self.settings.stage_limits
        if stage not in limits:
            raise ValueError(f"no time limit is configured for stage {stage!r} (setting stage_limits)")
        return self.calendar.deadline(start, limits[stage], self.settings.timezone).at

    def deadline_is_provisional(self, start: datetime, due: datetime) -> bool:
        """A deadline counted through a year whose holiday calendar is not known yet."""
        return any(not self.calendar.is_known_year(y) for y in range(start.year, due.year + 1))


def build(settings: Settings | None = None, *, clock: Clock | None = None) -> Services:
    """Wire the service from settings (default: the environment)."""
    settings = settings or get_settings()
    if clock is None:  # SMEFLOW_CLOCK (development and test only) fixes "now" for the CLI and the flows
        clock = ManualClock(settings.clock) if settings.clock is not None else SystemClock()
    return Services(settings=settings, clock=clock)
