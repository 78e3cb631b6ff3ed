"""The deadline sweep run twice at the same moment, by two separate PROCESSES (as two cron hosts
would), on PostgreSQL: each due timer fires once and each escalation mail is queued once.

Each process wires its own service from the same database URL, loads its state cold, says it is
ready and waits for the go; both are released together and sweep the same due timers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from services.awards import enterprises
from services.awards.demo import Demo, demo_uscc
from services.bootstrap import Services
from services.db.models import Application, AuditEvent, Timer, WorkItem
from services.db.models_mail import OutboxMail
from tests.conftest import requires_postgres
from tests.helpers import apply_for, clock, today

pytestmark = requires_postgres()

ROOT = Path(__file__).resolve().parents[2]
CASES = 20
AWARD = "m2-srdi-sme-city"
DEADLINE = "district_check_deadline"

# Run in each child process: argv = database URL, the sweep's `now` (ISO). Prints "ready", waits for a
# line on stdin, sweeps, prints the report as JSON.
CHILD = """
import json, sys
from datetime import datetime
from config.settings import Settings
from services.bootstrap import build
from services.time.clock import ManualClock
from services.awards.deadlines import sweep
from sqlalchemy import text

url, now = sys.argv[1], datetime.fromisoformat(sys.argv[2])
svc = build(Settings(database_url=url, environment="test"), clock=ManualClock(now))
with svc.db.connect() as conn:  # connect and wire everything before the start
    conn.execute(text("SELECT 1"))
svc.runtime, svc.calendar, svc.editions
print("ready", flush=True)
sys.stdin.readline()
report = sweep(svc, now)
svc.db.dispose()
print(json.dumps({"fired": report.fired, "skipped": report.skipped, "due": report.due_instances}), flush=True)
"""


def _register(services: Services, n: int) -> list[str]:
    names = [f"并发扫描企业{i}" for i in range(n)]
    with services.uow() as uow:
        for i, name in enumerate(names):
            ent = enterprises.register(uow.session, uscc=demo_uscc(700 + i), name=name, review_unit_code="donghu",
                                       email=None, actor="t", now=services.clock.now(), today=today(services))
            enterprises.add_honour(uow.session, enterprise_id=ent.id, honour_type="srdi_sme", level="city",
                                   recognised_on=date(2023, 1, 1), document_no=f"S{i}", issuer=None,
                                   editions=services.editions, actor="t", now=services.clock.now())
        uow.commit()
    return names


def _sweep_in_two_processes(url: str, now: datetime) -> list[dict[str, Any]]:
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, url, now.isoformat()], cwd=ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    try:
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline()
            assert line.strip() == "ready", (line, p.stderr.read() if p.stderr else "")
        for p in procs:  # the start: both are waiting on stdin
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    return [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]


def test_two_sweep_processes_fire_each_timer_once(services: Services) -> None:
    Demo(services, echo=False).load()
    names = _register(services, CASES)
    apps = [apply_for(services, name, AWARD, 50_000_00) for name in names]
    with services.uow() as uow:
        s = uow.session
        timers = s.execute(select(Timer.instance_id, Timer.event_spec, Timer.due_at)).all()
        assert Counter(t.event_spec for t in timers)[DEADLINE] == CASES
        instances = dict(s.execute(select(Application.id, Application.instance_id)
                                   .where(Application.id.in_(apps))).all())
        last_due = max(t.due_at for t in timers if t.event_spec == DEADLINE)
    # past every deadline, not yet long enough overdue to be escalated to level 2
    clock(services).set(last_due + timedelta(hours=1))
    now = services.clock.now()
    assert all(t.due_at < now for t in timers if t.event_spec == DEADLINE)

    reports = _sweep_in_two_processes(services.settings.database_url, now)

    fired = [tuple(f) for r in reports for f in r["fired"]]
    assert sorted(fired) == sorted((a, DEADLINE) for a in apps), reports
    with services.uow() as uow:
        s = uow.session
        fires = dict(s.execute(select(AuditEvent.instance_id, func.count()).where(AuditEvent.kind == "timer.fire")
                               .group_by(AuditEvent.instance_id)).all())
        assert fires == dict.fromkeys(instances.values(), 1)
        assert s.scalar(select(func.count()).select_from(Timer).where(Timer.due_at < now)) == 0
        items = s.scalars(select(WorkItem).where(WorkItem.application_id.in_(apps))).all()
        assert len(items) == CASES
        assert all((i.status, i.overdue, i.escalation_level) == ("open", True, 1) for i in items)
        mails = s.scalars(select(OutboxMail).where(OutboxMail.template == "task_escalated")).all()
        assert sorted(m.application_id or 0 for m in mails) == sorted(apps)
        assert {m.dedupe_key for m in mails} == {f"escalate1:{i.id}" for i in items}
