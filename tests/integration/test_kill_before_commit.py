"""A worker killed between the write and the commit of a step leaves the case, its work items, the
fund, the outbox and the audit chain exactly as they were; the step then succeeds when done again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from services.audit import chain as audit
from services.awards.demo import Demo
from services.bootstrap import Services
from services.db.base import Base
from tests.helpers import act, application, apply_for, open_item, pass_public_notice

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("application", "process_instance", "work_item", "timer", "fund", "fund_draw", "payout", "outbox_mail",
          "audit_event", "audit_head")


def rows(services: Services) -> dict[str, list[Any]]:
    """Every row of the tables a step writes, in key order."""
    out = {}
    with services.uow() as uow:
        for name in TABLES:
            table = Base.metadata.tables[name]
            out[name] = [tuple(r) for r in uow.session.execute(select(table).order_by(*table.primary_key.columns))]
    return out


def kill_during(services: Services, item_id: int, username: str, decision: str, reference: str = "") -> str:
    url = services.settings.database_url
    done = subprocess.run([sys.executable, "-m", "tests.integration.kill_worker", url, str(item_id), username,
                           decision, reference, services.clock.now().isoformat()],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr  # SIGKILL
    return done.stdout


def test_worker_killed_before_commit_changes_nothing(services: Services) -> None:
    Demo(services, echo=False).load()
    app_id = apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    act(services, app_id, "district-donghu", "approve")
    act(services, app_id, "bureau", "approve", amount_fen=300_000_00)
    pass_public_notice(services)
    item = open_item(services, app_id)
    assert item.task_spec == "finance_payout"
    before = rows(services)

    out = kill_during(services, item.id, "finance", "pay", "P-KILL")
    # the step's writes were all sent (the fund charged, the payout and its draw, the item, the state,
    # the timers, the application, the paid notice; on SQLite the two audit events too), not the COMMIT
    last = "chain+commit" if services.db.dialect.name == "postgresql" else "commit"
    assert "COMMITTED" not in out and f"LAST {last}" in out and int(out.split()[1]) >= 8, out

    assert rows(services) == before
    with services.uow() as uow:
        assert audit.verify(uow.session).ok
    act(services, app_id, "finance", "pay", reference="P-KILL")  # the same step, now committed
    assert application(services, app_id).status == "paid"
    after = rows(services)
    assert len(after["payout"]) == 1 and len(after["audit_event"]) == len(before["audit_event"]) + 2
    with services.uow() as uow:
        assert audit.verify(uow.session).ok
