"""Sweep scaling: the deadline sweep's time with the same due work (100 due timers) among 10,000 and
among 100,000 open cases, on PostgreSQL; and the outbox dispatcher's throughput against a real SMTP
server (aiosmtpd on 127.0.0.1, in this process).

    .venv/bin/python benchmarks/sweep_scaling.py [--small 10000] [--large 100000] [--due 100]
        [--repeat 5] [--mails 2000] [--batch 100] [--no-plan] [--postgres URL]

Each size is its own database (schemas smeflow_bench_sweep_small / _large / _mail, dropped at the end).
The `due` cases are real: the demo data, `due` enterprises and their applications through the service
layer, each case waiting at the district check with its deadline timer. The other open cases are bulk
copies of one of them made in SQL (INSERT ... SELECT over generate_series): enterprise, honour,
process instance (the same serialized state), application, open work item and timer, their deadline
a year later, so they are open but not due. Then VACUUM ANALYZE and CHECKPOINT.

Each run wires a fresh service (its own connection pool, no cached workflow: as a cron process
would), sweeps once at a time when nothing is due (warm-up), times a second such sweep ("nothing
due"), then times the sweep at one hour past the last real deadline, which fires every due timer
(escalation level 1, one mail each). The rows it changed are then put back, for the next run.
Runs alternate between the two databases (in turn first), so load from elsewhere on the machine
hits both alike; the medians are compared, in wall-clock time and in this process's CPU time. The
target ratio large/small is close to 1: the sweep's cost grows with the due work, not with the
number of open cases.

The outbox part enqueues `--mails` mails (template application_paid) in one transaction, then calls
`services.mail.outbox.dispatch` (batches of `--batch`, one SMTP connection each) until all are sent.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text

from notifications.smtp import SmtpMailer
from services.awards import enterprises
from services.awards.deadlines import sweep
from services.awards.demo import START, Demo, demo_uscc
from services.bootstrap import Services, build
from services.db.models import Application, ProcessInstance, Timer
from services.db.models_mail import OutboxMail
from services.mail import outbox
from services.setup import initialise
from services.time.clock import ManualClock
from tests.helpers import apply_for
from tests.smtp import SmtpServer

from pg_bulk import clone_open_cases, drop_schemas, schema_url, settings  # isort: skip  # benchmarks/

SCHEMA = "smeflow_bench_sweep"
AWARD = "m2-srdi-sme-city"
AMOUNT = 50_000_00
DEADLINE = "district_check_deadline"
BULK_DUE = timedelta(days=365)  # the bulk copies' deadlines: open, not due


def real_cases(url: str, due: int) -> Services:
    """Demo data plus `due` enterprises with an application each, through the service layer."""
    services = build(settings(url), clock=ManualClock(START))
    initialise(services)
    Demo(services, echo=False).load()
    with services.uow() as uow:
        for i in range(due):
            ent = enterprises.register(uow.session, uscc=demo_uscc(20_000 + i), name=f"扫描基准企业{i}",
                                       review_unit_code="donghu", email=None, actor="bench",
                                       now=services.clock.now(), today=date(2024, 6, 3))
            enterprises.add_honour(uow.session, enterprise_id=ent.id, honour_type="srdi_sme", level="city",
                                   recognised_on=date(2023, 1, 1), document_no=f"S{i}", issuer=None,
                                   editions=services.editions, actor="bench", now=services.clock.now())
        uow.commit()
    for i in range(due):
        apply_for(services, f"扫描基准企业{i}", AWARD, AMOUNT)
    return services


def open_cases(services: Services) -> int:
    with services.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(Application)
                                  .where(Application.status == "running")) or 0


def explain(services: Services, now: datetime) -> list[str]:
    """The plans of the sweep's two scans (due timers; escalation candidates), with actual times."""
    horizon = now - timedelta(days=services.settings.escalate_after_working_days)
    queries = [
        ("due timers", "SELECT DISTINCT instance_id FROM timer WHERE due_at < :now LIMIT 1000", {"now": now}),
        ("escalation", "SELECT id FROM work_item WHERE status = 'open' AND overdue AND escalation_level = 1 "
                       "AND due_at < :horizon", {"horizon": horizon}),
    ]
    lines = []
    with services.db.connect() as conn:
        for label, sql, params in queries:
            plan = [row[0] for row in conn.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}"), params)]
            lines.append(f"  {label}: " + " | ".join(p.strip() for p in plan))
    return lines


SAVED = {"process_instance": "id", "application": "instance_id", "work_item": "instance_id", "timer": "instance_id"}


def save_due_cases(services: Services, now: datetime) -> None:
    """Keep the rows a sweep at `now` changes, so `restore_due_cases` can undo it (a fresh run)."""
    with services.db.begin() as conn:
        conn.execute(text("CREATE TABLE bench_due AS SELECT DISTINCT instance_id AS id FROM timer WHERE due_at < :now"),
                     {"now": now})
        for table, key in SAVED.items():
            conn.execute(text(f'CREATE TABLE "bench_{table}" AS SELECT * FROM "{table}" '
                              f"WHERE {key} IN (SELECT id FROM bench_due)"))
        conn.execute(text("CREATE TABLE bench_audit_head AS SELECT * FROM audit_head"))
        conn.execute(text("CREATE TABLE bench_marks AS SELECT (SELECT coalesce(max(seq), 0) FROM audit_event) AS seq, "
                          "(SELECT coalesce(max(id), 0) FROM outbox_mail) AS mail"))


def restore_due_cases(services: Services) -> None:
    """Put the due cases, the audit chain and the outbox back as `save_due_cases` found them."""
    with services.db.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq > (SELECT seq FROM bench_marks)"))
        conn.execute(text("DELETE FROM outbox_mail WHERE id > (SELECT mail FROM bench_marks)"))
        conn.execute(text("DELETE FROM audit_head"))
        conn.execute(text("INSERT INTO audit_head SELECT * FROM bench_audit_head"))
        for table in ("work_item", "timer"):
            conn.execute(text(f'DELETE FROM "{table}" WHERE instance_id IN (SELECT id FROM bench_due)'))
        for model in (ProcessInstance, Application):
            cols = [f'"{c.name}"' for c in model.__table__.columns if c.name != "id"]
            name = model.__tablename__
            conn.execute(text(f'UPDATE "{name}" AS t SET ({", ".join(cols)}) = '
                              f'({", ".join("s." + c for c in cols)}) FROM "bench_{name}" AS s WHERE t.id = s.id'))
        for table in ("work_item", "timer"):
            conn.execute(text(f'INSERT INTO "{table}" SELECT * FROM "bench_{table}"'))


@dataclass
class Database:
    """One prepared database: `total` open cases, `due` of them due at `now`."""

    total: int
    due: int
    url: str
    now: datetime
    quiet_at: datetime  # before every deadline: nothing due
    runs: list[float] = field(default_factory=list)  # wall-clock seconds
    cpu: list[float] = field(default_factory=list)  # CPU seconds of this process (not the database server's)
    quiet: list[float] = field(default_factory=list)


def prepare(base: str, schema: str, total: int, due: int) -> Database:
    url = schema_url(base, schema)
    t0 = time.perf_counter()
    builder = real_cases(url, due)
    with builder.uow() as uow:
        deadlines = uow.session.scalars(select(Timer.due_at).where(Timer.event_spec == DEADLINE)).all()
    assert len(deadlines) == due
    with builder.uow() as uow:
        template = uow.session.scalars(select(Application.id).order_by(Application.id).limit(1)).one()
    clone_open_cases(builder, template, total - due, due=f"t.due_at + interval '{BULK_DUE.days} days'",
                     echo=total - due > 50_000)
    now = max(deadlines) + timedelta(hours=1)  # past every real deadline, not long enough for level 2
    save_due_cases(builder, now)
    builder.db.dispose()
    print(f"  prepared {total:,} open cases ({due} due) in {time.perf_counter() - t0:.1f} s", flush=True)
    return Database(total, due, url, now, min(deadlines) - timedelta(hours=1))


def measure(db: Database, *, show_plan: bool) -> None:
    """One sweep firing the due timers, from a freshly wired service; the due cases are put back first."""
    services = build(settings(db.url), clock=ManualClock(db.now))  # cold, as a cron process
    if db.runs:
        restore_due_cases(services)
    assert open_cases(services) == db.total
    warm = sweep(services, START)  # nothing is due yet: connects, loads the calendar, compiles the queries
    assert warm.due_instances == 0
    if show_plan:
        print(f"  plans among {db.total:,} open cases:")
        print("\n".join(explain(services, db.now)))
    t1 = time.perf_counter()
    quiet = sweep(services, db.quiet_at)
    db.quiet.append(time.perf_counter() - t1)
    assert not quiet.fired
    gc.collect()
    t1, c1 = time.perf_counter(), time.process_time()
    report = sweep(services, db.now)
    db.runs.append(time.perf_counter() - t1)
    db.cpu.append(time.process_time() - c1)
    assert len(report.fired) == db.due and report.skipped == 0, report.summary()
    with services.uow() as uow:
        s = uow.session
        assert s.scalar(select(func.count()).select_from(Timer).where(Timer.due_at < db.now)) == 0
        assert s.scalar(select(func.count()).select_from(OutboxMail)
                        .where(OutboxMail.template == "task_escalated")) == db.due
    print(f"  run {len(db.runs)}, {db.total:>9,} open: nothing due {db.quiet[-1] * 1000:5.1f} ms; "
          f"{db.due} due {db.runs[-1]:.2f} s (CPU {db.cpu[-1]:.2f} s)", flush=True)
    services.db.dispose()


def outbox_throughput(base: str, schema: str, mails: int, batch: int) -> tuple[float, float]:
    """(mails enqueued per second, mails dispatched per second) against aiosmtpd on 127.0.0.1."""
    url = schema_url(base, schema)
    server = SmtpServer()
    server.start()
    try:
        services = build(settings(url, smtp_host="127.0.0.1", smtp_port=server.port, smtp_tls=False,
                                  smtp_starttls=False, smtp_user=""), clock=ManualClock(START))
        initialise(services)
        now = services.clock.now()
        paid_at = datetime(2024, 6, 28, 10, 0, tzinfo=UTC)
        t0 = time.perf_counter()
        with services.uow() as uow:
            for i in range(mails):
                outbox.enqueue(uow.session, to=[f"ent{i}@example.com"], template="application_paid", now=now,
                               dedupe_key=f"bench:{i}", application_id=i + 1,
                               context={"enterprise_name": f"基准企业{i}", "application_id": i + 1,
                                        "award_name": "市级专精特新中小企业奖励", "amount_fen": AMOUNT,
                                        "reference": f"CZ-2024-{i:05d}", "paid_at": paid_at})
            uow.commit()
        enqueued = mails / (time.perf_counter() - t0)
        mailer = SmtpMailer(services.settings)
        sent = 0
        t0 = time.perf_counter()
        while sent < mails:
            report = outbox.dispatch(services.uow, mailer, now, limit=batch)
            assert report.failed == report.retried == 0, report
            if not report.sent:
                raise RuntimeError(f"dispatch stalled after {sent} of {mails} mails")
            sent += report.sent
        rate = mails / (time.perf_counter() - t0)
        assert len(server.inbox.envelopes) == mails
        services.db.dispose()
        return enqueued, rate
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=10_000, help="open cases, first run")
    parser.add_argument("--large", type=int, default=100_000, help="open cases, second run")
    parser.add_argument("--due", type=int, default=100, help="due timers (real cases) in each run")
    parser.add_argument("--mails", type=int, default=2_000, help="mails for the outbox throughput")
    parser.add_argument("--batch", type=int, default=100, help="mails per dispatch call (one SMTP connection)")
    parser.add_argument("--repeat", type=int, default=5, help="sweeps per size (the due cases are put back)")
    parser.add_argument("--no-plan", action="store_true", help="do not print the EXPLAIN ANALYZE plans")
    parser.add_argument("--postgres", default=os.environ.get(
        "SMEFLOW_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    if not args.postgres.startswith("postgresql"):
        parser.error("--postgres must be a PostgreSQL URL")
    if not 0 < args.due <= min(args.small, args.large):
        parser.error("--due must be positive and at most --small and --large")
    schemas = [f"{SCHEMA}_small", f"{SCHEMA}_large", f"{SCHEMA}_mail"]
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    try:
        dbs = []
        for schema, total in zip(schemas, (args.small, args.large), strict=False):
            print(f"preparing {total:,} open cases, {args.due} due ({schema}):", flush=True)
            dbs.append(prepare(args.postgres, schema, total, args.due))
        print(f"sweeps, alternating between the two databases, {args.repeat} each:", flush=True)
        for run in range(args.repeat):
            for db in dbs if run % 2 == 0 else dbs[::-1]:  # neither size always goes first
                measure(db, show_plan=run == 0 and not args.no_plan)
        print(f"outbox, {args.mails:,} mails in batches of {args.batch}:", flush=True)
        enqueued, rate = outbox_throughput(args.postgres, schemas[2], args.mails, args.batch)
    finally:
        drop_schemas(args.postgres, schemas)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    small, large = (statistics.median(db.runs) for db in dbs)
    print()
    print(f"(median of {args.repeat} runs each; a fresh service per run, the same {args.due} due cases)")
    for db, t in zip(dbs, (small, large), strict=True):
        print(f"sweep, {db.due} due among {db.total:>9,} open cases: {t:6.2f} s  "
              f"({t / db.due * 1000:.1f} ms per fired timer; runs: {', '.join(f'{x:.2f}' for x in db.runs)})")
    print(f"ratio {args.large:,} / {args.small:,}: {large / small:.2f}  (target close to 1)")
    cpu_small, cpu_large = (statistics.median(db.cpu) for db in dbs)
    print(f"sweep CPU time of this process (median): {cpu_small:.2f} s and {cpu_large:.2f} s, "
          f"ratio {cpu_large / cpu_small:.2f}")
    print(f"outbox enqueue (render + insert, one transaction): {enqueued:8.1f} mails/s")
    print(f"outbox dispatch to aiosmtpd (SmtpMailer, {args.batch} per connection): {rate:8.1f} mails/s")


if __name__ == "__main__":
    main()
