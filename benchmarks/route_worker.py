"""One benchmark worker of route_throughput.py: its own process, its own wired Services, the same
service functions the CLI and the web service call, one transaction per step.

On PostgreSQL it also has each transaction's audit-chain append time how long it held the head row,
by the server's clock (HeadTimer).
"""

from __future__ import annotations

import importlib
import importlib.util
import multiprocessing as mp
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event

from config.settings import Settings
from services.awards import applications, tasks
from services.awards.deadlines import SweepReport, _fire_instance  # one timer transaction per instance
from services.awards.demo import START
from services.awards.routes import current_route
from services.bootstrap import Services, build
from services.time.clock import ManualClock

AWARD = "m2-srdi-sme-city"
AMOUNT = 50_000_00
DECISIONS = {
    "district": ("district-donghu", tasks.Decision("approve")),
    "bureau": ("bureau", tasks.Decision("approve", amount_fen=AMOUNT)),
    "finance": ("finance", tasks.Decision("pay", payment_reference="R")),
}


@dataclass
class Result:
    transactions: int = 0
    holds_ms: list[tuple[float, float]] = field(default_factory=list)


class HeadTimer:
    """How long each transaction held the audit-chain head, by the PostgreSQL server's clock: the
    service's own append (services.db.sql_postgresql.HOLDS) times it when asked to, as (from the
    head's update to the end of COMMIT, from the append statement's start, lock wait included, to
    the end of COMMIT) in ms. SQLite has no head lock to time (every writer holds the database).

    Code from before that probe (`--compare-ref` of an older commit) is timed from this process
    instead: from sending the statement that locks or updates the head to the end of the COMMIT as
    seen here (wait, round trips and this process's scheduling included), given as both figures."""

    def __init__(self, services: Services) -> None:
        self.holds_ms: list[tuple[float, float]] = []
        self._since: float | None = None
        if services.db.dialect.name != "postgresql":
            return
        probe = importlib.import_module("services.db.sql_postgresql") if importlib.util.find_spec(
            "services.db.sql_postgresql") else None
        if probe is not None and hasattr(probe, "HOLDS"):
            probe.HOLDS = self.holds_ms
            return
        event.listen(services.db, "before_cursor_execute", self._statement)
        event.listen(services.sessions, "after_commit", self._committed)
        event.listen(services.sessions, "after_rollback", self._rolled_back)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self._since is None and "audit_head" in statement and (
                "FOR UPDATE" in statement or statement.lstrip().upper().startswith("UPDATE")):
            self._since = time.perf_counter()

    def _committed(self, _session: Any) -> None:
        if self._since is not None:
            held = (time.perf_counter() - self._since) * 1000
            self.holds_ms.append((held, held))
            self._since = None

    def _rolled_back(self, _session: Any) -> None:
        self._since = None


def make_services(url: str) -> Services:
    return build(Settings(database_url=url, environment="test", argon2_time_cost=1, argon2_memory_kib=64),
                 clock=ManualClock(START))


def run_job(services: Services, job: tuple[str, list[Any], datetime, int]) -> int:
    """Run one slice of a phase; returns the number of transactions committed."""
    phase, ids, now, call_id = job
    assert isinstance(services.clock, ManualClock)
    services.clock.set(now)
    done = 0
    if phase == "apply":
        for enterprise_id, honour_id in ids:
            with services.uow() as uow:
                applications.apply(uow, services, call_id=call_id, enterprise_id=enterprise_id,
                                   award_type_code=AWARD, honour_id=honour_id, requested_fen=AMOUNT,
                                   description="bench", actor="bench", now=now, today=START.date())
                uow.commit()
            done += 1
    elif phase == "timers":
        report = SweepReport()
        for instance_id in ids:
            _fire_instance(services, instance_id, now, report)
        done = len(report.fired)
    else:
        user, decision = DECISIONS[phase]
        for item_id in ids:
            if phase == "finance":
                decision = tasks.Decision("pay", payment_reference=f"R{item_id}")
            with services.uow() as uow:
                tasks.complete(uow, services, item_id=item_id, username=user, decision=decision, now=now)
                uow.commit()
            done += 1
    return done


def worker_main(url: str, jobs: mp.Queue, results: mp.Queue) -> None:  # type: ignore[type-arg]
    """Process entry: warm up (connect, parse the route), then run jobs until None."""
    services = make_services(url)
    timer = HeadTimer(services)
    with services.uow() as uow:
        current_route(uow.session, services.engine, "award_enterprise_honour")
    results.put("ready")
    while (job := jobs.get()) is not None:
        timer.holds_ms.clear()
        try:
            done = run_job(services, job)
        except Exception as exc:  # reported to the parent, which stops the run
            results.put(("error", repr(exc)))
            continue
        results.put((done, list(timer.holds_ms)))
    services.db.dispose()


class Pool:
    """N worker processes, each given exactly one slice of every phase."""

    def __init__(self, url: str, n: int) -> None:
        ctx = mp.get_context("spawn")
        self.results: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        self.queues = [ctx.Queue() for _ in range(n)]
        self.procs = [ctx.Process(target=worker_main, args=(url, q, self.results), daemon=True)
                      for q in self.queues]
        for p in self.procs:
            p.start()
        for _ in self.procs:
            if self.results.get(timeout=120) != "ready":
                raise RuntimeError("a worker failed to start")

    def run(self, phase: str, ids: list[Any], now: datetime, call_id: int) -> tuple[float, Result]:
        """Run a phase split evenly over the workers; wall time and what they did."""
        n = len(self.queues)
        slices = [ids[i::n] for i in range(n)]
        start = time.perf_counter()
        for q, part in zip(self.queues, slices, strict=True):
            q.put((phase, part, now, call_id))
        out = Result()
        for _ in self.queues:
            got = self.results.get(timeout=1800)
            if got[0] == "error":
                raise RuntimeError(f"worker failed in phase {phase}: {got[1]}")
            out.transactions += got[0]
            out.holds_ms.extend(got[1])
        return time.perf_counter() - start, out

    def close(self) -> None:
        for q in self.queues:
            q.put(None)
        for p in self.procs:
            p.join(timeout=60)
