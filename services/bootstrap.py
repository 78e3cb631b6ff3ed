"""One place that wires settings, database, engine, calendar and clock for the CLI, the web app
and every flow alike. Nothing connects to a database at import time."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from argon2 import PasswordHasher
from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from config.policy import Edition, ReviewUnit, load_review_units
from config.settings import Settings, get_settings
from services.accounts.users import make_hasher
from services.awards.cases import CaseRuntime
from services.db.session import make_engine, make_session_factory
from services.engine.runtime import Engine
from services.mail.outbox import Mailer
from services.policy.cache import EditionCache
from services.time.calendar import WorkingCalendar
from services.time.clock import Anchor, Clock, DemoClock, ManualClock, SystemClock
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
    def edition_cache(self) -> EditionCache:
        return EditionCache(lambda: self.db, fallback_dir=self.settings.policy_dir,
                            recheck_seconds=self.settings.editions_recheck_seconds)

    @property
    def editions(self) -> list[Edition]:
        """The latest revision of every policy edition stored in the database (see services.policy)."""
        return self.edition_cache.current()

    def edition_revision(self, revision_id: int | None, edition_code: str) -> Edition:
        """The edition a case ran under: its stored revision, or (no revision recorded) the latest."""
        if revision_id is not None:
            return self.edition_cache.revision(revision_id)
        edition = next((e for e in self.editions if e.code == edition_code), None)
        if edition is None:
            raise KeyError(f"policy edition {edition_code} is not loaded")
        return edition

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


DEMO_ENVIRONMENTS = frozenset({"development", "test"})


def build(settings: Settings | None = None, *, clock: Clock | None = None) -> Services:
    """Wire the service from settings (default: the environment). Without a clock given: SMEFLOW_CLOCK
    (development and test only) fixes "now" for the CLI and the flows; else, in development and test, the
    clock is the demo's stored clock when `smeflow demo` has set one (demo mode), else the real time; any
    other environment always runs on the real time."""
    settings = settings or get_settings()
    tune_collector(settings.gc_young_threshold)
    if clock is None and settings.clock is not None:
        clock = ManualClock(settings.clock)
    if clock is not None or settings.environment not in DEMO_ENVIRONMENTS:
        return Services(settings=settings, clock=clock or SystemClock())
    services = Services(settings=settings)
    services.clock = DemoClock(lambda: read_demo_anchor(services.db))
    return services


def tune_collector(young: int) -> None:
    """Set the young-generation threshold of Python's cyclic garbage collector for this process (0: leave
    Python's): a smeflow process keeps many workflows cached, and the collector at Python's default ran
    every few hundred allocations of a step and scanned them again (config/defaults.toml)."""
    if young > 0:
        gc.set_threshold(young, *gc.get_threshold()[1:])


def read_demo_anchor(db: DbEngine) -> Anchor | None:
    """The stored demo clock (demo time, wall time when set), or None; read on a raw connection of its
    own (no ORM session, no transaction events), None also before the database is migrated."""
    conn = db.raw_connection()
    try:
        cur = conn.cursor()
        try:
            cur.execute("SELECT demo_at, set_at FROM demo_clock WHERE id = 1")
        except Exception as exc:  # the table does not exist yet: not migrated, so no demo either
            if "demo_clock" not in str(exc):
                raise
            return None
        row = cur.fetchone()
        cur.close()
    finally:
        conn.rollback()
        conn.close()
    if row is None:
        return None
    return _aware(row[0]), _aware(row[1])


def _aware(value: datetime | str) -> datetime:
    when = datetime.fromisoformat(value) if isinstance(value, str) else value  # SQLite hands back text
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
