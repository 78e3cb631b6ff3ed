"""Every hashed field of every kind of audit event is covered by the chain: altering any one of them,
in any event kind the two campaigns write, makes `smeflow audit verify` fail and name that event.

Kills issue 16, table row 2: "`instance_id` and `application_id` dropped from the audit hash
(services/audit/chain.py)", and any other field left out of the hash.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from app.cli import app
from services.arrears.demo import ArrearsDemo
from services.awards.deadlines import sweep
from services.bootstrap import Services
from services.db.models import AuditEvent
from tests.helpers import clock

# The kinds both campaigns write in the history below: the awards demo's six cases, the one left
# whose deferred payout comes back to finance and is escalated by the sweep, and the arrears
# demo. Written by hand, so the test cannot silently shrink.
KINDS = {
    "enterprise.register", "honour.add", "fund.create", "call.open", "case.start", "task.complete", "payout",
    "timer.fire", "task.escalate", "arrears.officer", "arrears.debtor", "arrears.register", "arrears.start",
    "arrears.complete", "arrears.timer",
}
FIELDS = ("seq", "at", "actor", "kind", "instance_id", "application_id", "payload", "prev_hash", "hash")


@pytest.fixture
def history(demo: Any, services_env: Services) -> Services:
    s = services_env
    # case f's payout is deferred (the fund is short): the deferral's deadline fires, the payout comes
    # back to finance, and left there long overdue it is escalated
    clock(s).advance(timedelta(days=30))
    fired = sweep(s, s.clock.now()).fired
    clock(s).advance(timedelta(days=30))
    escalated = sweep(s, s.clock.now()).escalated
    assert fired and escalated
    ArrearsDemo(s, echo=False).load()
    return s


def verify(runner: CliRunner) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify"])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def other_value(field: str, row: Any, ids: dict[str, list[int]]) -> Any:
    """A different, plausible value for `field` of `row` (an id that exists elsewhere in the chain)."""
    value = getattr(row, field)
    if field == "seq":
        return value + 1_000_000
    if field == "at":
        return value + timedelta(seconds=1)
    if field in ("instance_id", "application_id"):
        return next(i for i in ids[field] if i != value)  # None -> an id; an id -> another case's id
    if field == "payload":
        return value[:-1] + ',"forged":true}' if value.endswith("}") and value != "{}" else '{"forged":true}'
    if field in ("prev_hash", "hash"):
        return ("f" if value[0] != "f" else "e") + value[1:]
    return value + "x"


# kills table row 2 (instance_id / application_id, or any other field, left out of the hash)
def test_every_hashed_field_of_every_event_kind_is_detected_naming_the_event(history: Services) -> None:
    runner = CliRunner()
    code, output = verify(runner)
    assert code == 0 and "审计链完好" in output, output
    with history.uow() as uow:
        rows = uow.session.execute(select(AuditEvent.__table__).order_by(AuditEvent.seq)).all()
    kinds: dict[str, Any] = {}
    for row in rows:
        kinds.setdefault(row.kind, row)  # the first event of each kind
    assert set(kinds) >= KINDS, f"kinds missing from the history: {sorted(KINDS - set(kinds))}"
    ids = {f: sorted({getattr(r, f) for r in rows if getattr(r, f) is not None}) for f in
           ("instance_id", "application_id")}
    table = AuditEvent.__table__
    tried = 0
    for kind, row in sorted(kinds.items()):
        for field in FIELDS:
            forged = other_value(field, row, ids)
            with history.db.begin() as conn:
                conn.execute(update(table).where(table.c.seq == row.seq).values({field: forged}))
            code, output = verify(runner)
            with history.db.begin() as conn:  # put it back before the next field
                key = forged if field == "seq" else row.seq
                conn.execute(update(table).where(table.c.seq == key).values({field: getattr(row, field)}))
            assert code == 1, (kind, field, output)
            assert f"审计链断裂：第 {row.seq} 号事件" in output, (kind, field, output)
            tried += 1
    assert tried == len(kinds) * len(FIELDS)
    code, output = verify(runner)  # every alteration was put back: intact again
    assert code == 0 and f"审计链完好：共 {len(rows)} 个事件" in output, output
