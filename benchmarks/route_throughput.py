"""Route throughput: N cases through the full award route via the service layer (the code the CLI
uses), on SQLite and on PostgreSQL, against the same diagram run in memory by SpiffWorkflow alone.

    .venv/bin/python benchmarks/route_throughput.py [--cases 300] [--postgres URL]

Prints task completions per second for each and the ratio persisted / in-memory.
A case is: apply (start), district approve, bureau approve with an amount, the public-notice
timer firing, finance pays: three human-task completions per case.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from config.settings import Settings
from services.awards import enterprises, tasks
from services.awards.deadlines import sweep
from services.awards.demo import START, Demo, demo_uscc
from services.awards.routes import BUNDLED_DIR
from services.bootstrap import Services, build
from services.db.models import Fund, WorkItem
from services.engine.runtime import clock
from services.time.clock import ManualClock
from tests.helpers import apply_for

from pg_bulk import schema_url  # isort: skip  # benchmarks/

ROUTE = BUNDLED_DIR / "award_enterprise_honour.bpmn"
AWARD = "m2-srdi-sme-city"
AMOUNT = 50_000_00
COMPLETIONS_PER_CASE = 3


def in_memory(n: int) -> float:
    """Completions per second of the bare engine: parse once, run n cases, nothing persisted."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(ROUTE))
    spec = parser.get_spec("award_enterprise_honour")
    subs = parser.get_subprocess_specs("award_enterprise_honour")
    t0 = datetime(2024, 6, 3, 1, tzinfo=UTC)
    env = TaskDataEnvironment({"stage_deadline": lambda stage: (t0 + timedelta(days=10)).isoformat()})
    engine = PythonScriptEngine(environment=env)
    steps = [{"decision": "approve", "reason": None},
             {"decision": "approve", "reason": None, "award_amount_fen": AMOUNT}]
    start = time.perf_counter()
    for _ in range(n):
        with clock(t0):
            wf = BpmnWorkflow(spec, subs, script_engine=engine)
            wf.get_tasks(state=TaskState.READY)[0].data.update(
                {"cap_fen": 5_000_000, "decision": None, "reason": None, "award_amount_fen": None,
                 "payment_reference": None})
            wf.do_engine_steps()
            for data in steps:
                task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
                task.data.update(data)
                task.run()
                wf.do_engine_steps()
        with clock(t0 + timedelta(days=20)):
            wf.refresh_timers()
            wf.do_engine_steps()
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            assert task.task_spec.name == "finance_payout"
            task.data.update({"decision": "pay", "payment_reference": "R"})
            task.run()
            wf.do_engine_steps()
        assert wf.is_completed()
    return n * COMPLETIONS_PER_CASE / (time.perf_counter() - start)


def prepare(url: str, n: int) -> Services:
    services = build(Settings(database_url=url, environment="test", argon2_time_cost=1, argon2_memory_kib=64),
                     clock=ManualClock(START))
    from services.setup import initialise

    initialise(services)
    Demo(services, echo=False).load()
    with services.uow() as uow:
        uow.session.scalars(select(Fund)).one().budget_fen = n * AMOUNT
        for i in range(n):
            ent = enterprises.register(uow.session, uscc=demo_uscc(10_000 + i), name=f"基准企业{i}",
                                       review_unit_code="donghu", email=None, actor="bench",
                                       now=services.clock.now(), today=date(2024, 6, 3))
            enterprises.add_honour(uow.session, enterprise_id=ent.id, honour_type="srdi_sme", level="city",
                                   recognised_on=date(2023, 1, 1), document_no=f"B{i}", issuer=None,
                                   editions=services.editions, actor="bench", now=services.clock.now())
        uow.commit()
    return services


def _complete(services: Services, item_id: int, user: str, decision: tasks.Decision) -> None:
    with services.uow() as uow:
        tasks.complete(uow, services, item_id=item_id, username=user, decision=decision, now=services.clock.now())
        uow.commit()


def _open_items(services: Services, role: str) -> list[int]:
    with services.uow() as uow:
        return list(uow.session.scalars(select(WorkItem.id).where(
            WorkItem.status == "open", WorkItem.role == role).order_by(WorkItem.id)))


def persisted(services: Services, n: int) -> float:
    """Completions per second through the service layer, every step its own transaction."""
    start = time.perf_counter()
    for i in range(n):
        apply_for(services, f"基准企业{i}", AWARD, AMOUNT)
    for item in _open_items(services, "district"):
        _complete(services, item, "district-donghu", tasks.Decision("approve"))
    for item in _open_items(services, "bureau"):
        _complete(services, item, "bureau", tasks.Decision("approve", amount_fen=AMOUNT))
    assert isinstance(services.clock, ManualClock)
    services.clock.advance(timedelta(days=20))
    fired = sweep(services, services.clock.now())
    assert len(fired.fired) == n, fired
    for item in _open_items(services, "finance"):
        _complete(services, item, "finance", tasks.Decision("pay", payment_reference=f"R{item}"))
    elapsed = time.perf_counter() - start
    with services.uow() as uow:
        assert uow.session.scalars(select(Fund)).one().paid_fen == n * AMOUNT
    return n * COMPLETIONS_PER_CASE / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--postgres", default=os.environ.get(
        "SMEFLOW_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    n = args.cases
    in_memory(20)  # warm-up
    base = in_memory(n)
    print(f"cases: {n}, task completions per case: {COMPLETIONS_PER_CASE}")
    print(f"in-memory SpiffWorkflow (baseline): {base:9.1f} completions/s")
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("SQLite", f"sqlite:///{tmp}/bench.db")]
        if args.postgres:
            targets.append(("PostgreSQL", schema_url(args.postgres, "smeflow_bench")))
        for label, url in targets:
            services = prepare(url, n)
            rate = persisted(services, n)
            print(f"persisted service, {label:<10}: {rate:9.1f} completions/s   ratio to in-memory: {rate / base:.2f}")
            services.db.dispose()


if __name__ == "__main__":
    main()
