"""Replay and chain verification: replay time per case for a 10-step and a 50-step history, and
audit chain verification throughput over a synthetic chain of 1,000,000 events on PostgreSQL.

    .venv/bin/python benchmarks/replay.py [--cases 5] [--replay-on postgres|sqlite] [--database-url URL]
                                          [--events 1000000] [--postgres URL] [--skip-chain]

Both parts run on PostgreSQL by default (`--postgres`, each in its own scratch schema, dropped after);
`--replay-on sqlite` runs the replay part on a temporary SQLite file instead.

Replay: cases built through the service layer (every step its own transaction, as in production)
with return/resubmit loops to reach the history length: a history of N audit events is start, k
district returns each followed by the applicant's resubmission, district approve, bureau approve,
the public-notice timer, the payout and the finance completion (N = 6 + 2k). Timed (each includes
loading the record from the database): `replay_case(detail=False)`, the verdict (reproduced, or the
first differing step: the step-by-step replay runs only when the case differs), with a reused engine
(diagram already parsed); `replay_case` step by step with every step's view (as the auditor's page
and the CLI show it) with a reused engine and with a fresh one (parsing the diagram too). The
baseline alongside is the same commands re-executed by the engine alone in memory (no database, no
comparison); the ratio printed is replay time over baseline.

Chain: a valid chain (hashes from services.audit.chain.event_hash) bulk-inserted with COPY into a scratch
schema, then `services.audit.chain.verify` walks it; the baseline is event_hash alone over the same rows
in memory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, text

from config.settings import Settings
from services.accounts import users
from services.audit import chain as audit
from services.audit import replay
from services.audit.replay_record import load_case
from services.awards import enterprises, tasks
from services.awards.deadlines import sweep
from services.awards.demo import START, Demo, demo_uscc
from services.bootstrap import Services, build
from services.db.base import Base
from services.db.models import Fund, WorkItem
from services.engine.runtime import Engine
from services.time.clock import ManualClock
from tests.helpers import apply_for

from pg_bulk import schema_url  # isort: skip  # benchmarks/

AWARD = "m2-srdi-sme-city"
AMOUNT = 50_000_00
REPLAY_SCHEMA = "smeflow_bench_replay"


def prepare(url: str, n: int) -> Services:
    from services.setup import initialise

    services = build(Settings(database_url=url, environment="test", argon2_time_cost=1, argon2_memory_kib=64),
                     clock=ManualClock(START))
    initialise(services)
    Demo(services, echo=False).load()
    with services.uow() as uow:
        uow.session.scalars(select(Fund)).one().budget_fen = n * AMOUNT
        for i in range(n):
            ent = enterprises.register(uow.session, uscc=demo_uscc(20_000 + i), name=f"回放企业{i}",
                                       review_unit_code="donghu", email=None, actor="bench",
                                       now=services.clock.now(), today=date(2024, 6, 3))
            enterprises.add_honour(uow.session, enterprise_id=ent.id, honour_type="srdi_sme", level="city",
                                   recognised_on=date(2023, 1, 1), document_no=f"R{i}", issuer=None,
                                   editions=services.editions, actor="bench", now=services.clock.now())
            users.create_user(uow.session, hasher=services.password_hasher, username=f"bench-{i}",
                              display_name=f"回放企业{i}", role="applicant", password="bench-only",
                              enterprise_id=ent.id)
        uow.commit()
    return services


def _act(services: Services, app_id: int, user: str, decision: tasks.Decision) -> None:
    assert isinstance(services.clock, ManualClock)
    services.clock.advance(timedelta(minutes=30))
    with services.uow() as uow:
        item = uow.session.scalars(select(WorkItem.id).where(WorkItem.application_id == app_id,
                                                             WorkItem.status == "open")).one()
        tasks.complete(uow, services, item_id=item, username=user, decision=decision, now=services.clock.now())
        uow.commit()


def build_cases(services: Services, first: int, count: int, loops: int) -> list[int]:
    """`count` cases with `loops` return/resubmit loops each: histories of 6 + 2 * loops events."""
    ids = [apply_for(services, f"回放企业{first + i}", AWARD, AMOUNT) for i in range(count)]
    for i, app_id in enumerate(ids):
        for _ in range(loops):
            _act(services, app_id, "district-donghu", tasks.Decision("return", reason="请补充材料"))
            _act(services, app_id, f"bench-{first + i}", tasks.Decision("resubmit"))
        _act(services, app_id, "district-donghu", tasks.Decision("approve"))
        _act(services, app_id, "bureau", tasks.Decision("approve", amount_fen=AMOUNT))
    assert isinstance(services.clock, ManualClock)
    services.clock.advance(timedelta(days=20))
    sweep(services, services.clock.now())
    for app_id in ids:
        _act(services, app_id, "finance", tasks.Decision("pay", payment_reference=f"PAY-{app_id}"))
    return ids


def _engine_only(services: Services, app_id: int, engine: Engine) -> float:
    """Baseline: the case's commands re-executed by the engine alone, in memory."""
    with services.uow() as uow:
        record = load_case(uow.session, app_id)
    definition = next(iter(record.definitions.values()))
    route = engine.route(definition.documents(), definition.process_id)
    start = time.perf_counter()
    wf = None
    for ev in record.events:
        body = ev.body()
        if ev.kind == "case.start":
            wf, _ = engine.start(route, body["data"], ev.at)
        elif ev.kind == "task.complete":
            task = next(t for t in engine.human_tasks(wf) if t.spec == body["task"])
            engine.complete(wf, task.task_id, body["data"], ev.at)
        elif ev.kind == "timer.fire":
            engine.fire_due_timers(wf, ev.at)
    return time.perf_counter() - start


def time_replays(services: Services, ids: list[int]) -> dict[str, float]:
    """Median seconds per case of each way of replaying, and the history length (`events`)."""
    warm = Engine(services.stage_deadline)
    times: dict[str, list[float]] = {"fresh": [], "detail": [], "verdict": [], "base": []}
    events = 0
    for app_id in ids:
        for label, engine, detail in (("fresh", None, True), ("detail", warm, True), ("verdict", warm, False)):
            with services.uow() as uow:
                t0 = time.perf_counter()
                result = replay.replay_case(uow, services, application_id=app_id, engine=engine, detail=detail)
                times[label].append(time.perf_counter() - t0)
            assert result.reproduced, result.verdict
        with services.uow() as uow:
            events = len(load_case(uow.session, app_id).events)
        times["base"].append(_engine_only(services, app_id, warm))
    return {**{k: statistics.median(v) for k, v in times.items()}, "events": events}


def replay_benchmark(url: str, cases: int) -> None:
    services = prepare(url, 2 * cases)
    for label, loops, first in (("10-step", 2, 0), ("50-step", 22, cases)):
        ids = build_cases(services, first, cases, loops)
        t = time_replays(services, ids)
        steps = int(t["events"])
        assert steps == 6 + 2 * loops
        print(f"{label} history ({steps} events), {cases} cases, ms per case: engine alone (baseline) "
              f"{t['base'] * 1000:6.1f}; replay with a verdict (reused engine) {t['verdict'] * 1000:6.1f}, "
              f"ratio {t['verdict'] / t['base']:.2f}; replay step by step with every step's view "
              f"{t['detail'] * 1000:6.1f} reused engine ({t['detail'] / steps * 1000:.2f} ms/step, ratio "
              f"{t['detail'] / t['base']:.2f}), {t['fresh'] * 1000:6.1f} fresh engine", flush=True)
    services.db.dispose()


# -- the chain ------------------------------------------------------------------------------------
def _rows(n: int) -> tuple[list[tuple[object, ...]], float]:
    """A valid chain of n synthetic task completions; returns the rows and the hashing time."""
    payload = audit.canonical({"task_id": "6f1c0b8e-0000-4000-8000-000000000000", "task": "district_check",
                               "work_item": 1, "data": {"decision": "approve", "reason": None},
                               "state_sha256": "0" * 64}).decode()
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    rows: list[tuple[object, ...]] = []
    prev = audit.GENESIS
    start = time.perf_counter()
    for seq in range(1, n + 1):
        at = t0 + timedelta(seconds=seq)
        inst = seq // 8 + 1
        digest = audit.event_hash(prev, seq=seq, at=at, actor="district-donghu", kind="task.complete",
                                  instance_id=inst, application_id=inst, payload=payload)
        rows.append((seq, at, "district-donghu", "task.complete", inst, inst, payload, prev, digest))
        prev = digest
    return rows, time.perf_counter() - start


def chain_benchmark(base_url: str, n: int) -> None:
    schema = "smeflow_bench_chain"
    url = schema_url(base_url, schema)
    services = build(Settings(database_url=url, environment="test"))
    tables = [Base.metadata.tables["audit_event"], Base.metadata.tables["audit_head"]]
    Base.metadata.create_all(services.db, tables=tables)
    rows, hashing = _rows(n)
    t0 = time.perf_counter()
    raw = services.db.raw_connection()
    try:
        columns = "seq, at, actor, kind, instance_id, application_id, payload, prev_hash, hash"
        with raw.cursor() as cur, cur.copy(f"COPY audit_event ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        with raw.cursor() as cur:
            cur.execute("INSERT INTO audit_head (id, seq, hash) VALUES (%s, %s, %s)", (audit.HEAD_ID, n, rows[-1][8]))
            cur.execute("ANALYZE audit_event")
        raw.commit()
    finally:
        raw.close()
    load = time.perf_counter() - t0
    del rows
    with services.uow() as uow:
        t0 = time.perf_counter()
        report = audit.verify(uow.session)
        elapsed = time.perf_counter() - t0
    assert report.ok and report.checked == n, report
    rate, base = n / elapsed, n / hashing
    print(f"chain of {n:,} events on PostgreSQL (COPY load {load:.1f} s): verify {elapsed:.1f} s = {rate:,.0f} "
          f"events/s; hashing alone in memory (baseline) {base:,.0f} events/s; ratio {rate / base:.2f}")
    services.db.dispose()
    _drop_schema(base_url, schema)


def _drop_schema(base_url: str, schema: str) -> None:
    admin = build(Settings(database_url=base_url, environment="test")).db
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=5, help="cases per history length")
    parser.add_argument("--replay-on", choices=("postgres", "sqlite"), default="postgres",
                        help="where the replay part runs (default: a scratch schema on --postgres)")
    parser.add_argument("--database-url", default="", help="database for the replay part (overrides --replay-on)")
    parser.add_argument("--events", type=int, default=1_000_000, help="length of the synthetic chain")
    parser.add_argument("--postgres", default=os.environ.get(
        "SMEFLOW_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--skip-chain", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = REPLAY_SCHEMA if not args.database_url and args.replay_on == "postgres" else None
        url = args.database_url or (schema_url(args.postgres, scratch) if scratch else f"sqlite:///{tmp}/replay.db")
        print(f"replay on {url.split(':', 1)[0]}")
        try:
            replay_benchmark(url, args.cases)
        finally:
            if scratch:
                _drop_schema(args.postgres, scratch)
    if not args.skip_chain:
        chain_benchmark(args.postgres, args.events)


if __name__ == "__main__":
    main()
