"""Altering or deleting what was stored is detected, and the report names where."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from services.audit import anchors
from services.audit import chain as audit
from services.audit.replay_record import load_case
from services.awards.demo import DemoCase
from services.bootstrap import Services
from services.db.base import PackedBytes
from services.db.models import AuditEvent, AuditHead, ProcessInstance, WorkItem
from tests.audit.conftest import replay_of, sql
from tests.helpers import clock

KEY = "test-audit-signing-key"


def _verify(services: Services) -> audit.ChainReport:
    with services.uow() as uow:
        return audit.verify(uow.session)


def _event(services: Services, app_id: int, kind: str, task: str | None = None) -> AuditEvent:
    with services.uow() as uow:
        events = load_case(uow.session, app_id).events
        seq = next(e.seq for e in events if e.kind == kind and (task is None or e.body().get("task") == task))
        return uow.session.get_one(AuditEvent, seq)


def test_an_altered_event_is_named_by_verify_and_by_replay(services: Services, demo: dict[str, DemoCase]) -> None:
    app_id = demo["a"].application_id
    ev = _event(services, app_id, "task.complete", "bureau_review")
    sql(services, "UPDATE audit_event SET payload = REPLACE(payload, '30000000', '3000000') WHERE seq = :s", s=ev.seq)
    chain = _verify(services)
    assert not chain.ok and chain.broken_at == ev.seq
    result = replay_of(services, app_id)
    assert not result.reproduced and result.first is not None
    step = next(s.index for s in result.steps if s.seq == ev.seq)
    assert (result.first.step, result.first.seq, result.first.what) == (step, ev.seq, "event hash")
    assert result.verdict.startswith(f"回放与记录不符，首个不符之处在第 {step} 步（事件 {ev.seq}）")
    assert "与其哈希不符：该事件在记录之后被改动" in result.verdict and "办理" in result.verdict
    assert "task.complete" not in result.verdict  # the event's kind by its label


def test_an_altered_event_with_a_recomputed_hash_still_differs(services: Services,
                                                               demo: dict[str, DemoCase]) -> None:
    """A forger who recomputes the altered event's hash breaks the next link, and the replayed case
    no longer matches what followed (the payout of the amount really decided)."""
    app_id = demo["a"].application_id
    ev = _event(services, app_id, "task.complete", "bureau_review")
    forged = ev.payload.replace("30000000", "3000000")
    digest = audit.event_hash(ev.prev_hash, seq=ev.seq, at=ev.at, actor=ev.actor, kind=ev.kind,
                              instance_id=ev.instance_id, application_id=ev.application_id, payload=forged)
    sql(services, "UPDATE audit_event SET payload = :p, hash = :h WHERE seq = :s", p=forged, h=digest, s=ev.seq)
    assert _verify(services).broken_at == ev.seq + 1
    result = replay_of(services, app_id)
    payout = next(s for s in result.steps if s.kind == "payout")
    assert result.first is not None and result.first.step == payout.index
    assert result.first.what == "payout amount"
    assert (result.first.recorded, result.first.replayed) == (30_000_000, 3_000_000)
    assert any(d.what.startswith("state: ") and "award_amount_fen" in d.what for d in result.differences)


def test_an_altered_instance_state_is_named_by_replay(services: Services, demo: dict[str, DemoCase]) -> None:
    app_id = demo["b"].application_id
    with services.uow() as uow:
        inst_id = uow.session.get_one(ProcessInstance, load_case(uow.session, app_id).instance_id)
        state = bytes(inst_id.state)
        instance_id = inst_id.id
    assert b'"award_amount_fen":5000000' in state
    sql(services, "UPDATE process_instance SET state = :s WHERE id = :i",
        s=state.replace(b'"award_amount_fen":5000000', b'"award_amount_fen":6000000'), i=instance_id)
    assert _verify(services).ok  # the chain itself is intact: only replay can see this
    result = replay_of(services, app_id)
    last = [s for s in result.steps if s.changes_state][-1]
    assert result.first is not None and (result.first.step, result.first.seq) == (last.index, last.seq)
    assert result.first.what == "stored state" and "在没有审计事件的情况下被改动" in result.first.message
    where = next(d for d in result.differences if d.what.startswith("state: "))
    assert where.what.endswith("data.award_amount_fen") and (where.recorded, where.replayed) == (6_000_000,
                                                                                                    5_000_000)
    assert where.message == "存储的流程状态与回放的状态在 数据项“奖励金额” 处不同"


def test_a_deleted_event_is_named_by_verify_and_by_replay(services: Services, demo: dict[str, DemoCase]) -> None:
    app_id = demo["b"].application_id
    ev = _event(services, app_id, "task.complete", "correct_application")
    sql(services, "DELETE FROM audit_event WHERE seq = :s", s=ev.seq)
    chain = _verify(services)
    assert not chain.ok and chain.broken_at == ev.seq and "missing" in (chain.reason or "")
    result = replay_of(services, app_id)
    assert not result.reproduced and result.first is not None
    assert result.first.what == "missing event" and result.first.step == 2
    assert "补正材料" in result.first.message and "没有审计事件记录此次办理" in result.first.message
    assert "correct_application" not in result.first.message  # the step by its label, its id only on pages
    refused = next(d for d in result.differences if d.what == "task not open")
    assert refused.step == 3 and refused.replayed == ["correct_application"]


def test_deleting_a_case_s_last_event_is_named_by_replay(services: Services, demo: dict[str, DemoCase]) -> None:
    app_id = demo["a"].application_id
    ev = _event(services, app_id, "task.complete", "finance_payout")
    sql(services, "DELETE FROM audit_event WHERE seq = :s", s=ev.seq)
    result = replay_of(services, app_id)
    whats = {d.what for d in result.differences}
    assert {"missing event", "stored state"} <= whats
    assert "财政拨付" in next(d.message for d in result.differences if d.what == "missing event")


def test_an_altered_work_item_and_diagram_are_named(services: Services, demo: dict[str, DemoCase]) -> None:
    app_id = demo["d"].application_id
    with services.uow() as uow:
        item = uow.session.scalars(select(WorkItem).where(WorkItem.application_id == app_id,
                                                          WorkItem.task_spec == "bureau_review")).one()
    sql(services, "UPDATE work_item SET completed_by = 'mallory' WHERE id = :i", i=item.id)
    result = replay_of(services, app_id)
    assert result.first is not None and result.first.what == "work item" and f"#{item.id}" in result.first.message
    assert result.first.recorded["completed_by"] == "mallory" and result.first.replayed["completed_by"] == "bureau"
    with services.uow() as uow:
        record = load_case(uow.session, app_id)
    definition = next(iter(record.definitions.values()))
    sql(services, "UPDATE process_definition SET bpmn_xml = :x WHERE hash = :h",
        x=definition.bpmn_xml.replace("市中小企业局复审".encode(), "市局复审".encode()), h=definition.hash)
    result = replay_of(services, app_id)
    assert result.first is not None and (result.first.step, result.first.what) == (1, "diagram")
    assert "与其哈希不符（被改动）" in result.first.message


def _rewrite_chain_from(services: Services, seq: int) -> None:
    """What an attacker with database access does: alter one event and recompute every hash after it."""
    with services.uow() as uow:
        session = uow.session
        prev = session.get_one(AuditEvent, seq - 1).hash
        for ev in session.scalars(select(AuditEvent).where(AuditEvent.seq >= seq).order_by(AuditEvent.seq)):
            if ev.seq == seq:
                ev.actor = "mallory"
            ev.prev_hash = prev
            ev.hash = prev = audit.event_hash(prev, seq=ev.seq, at=ev.at, actor=ev.actor, kind=ev.kind,
                                              instance_id=ev.instance_id, application_id=ev.application_id,
                                              payload=ev.payload)
        session.get_one(AuditHead, audit.HEAD_ID).hash = prev
        uow.commit()


def test_a_rewritten_chain_is_caught_by_the_signed_statement(services: Services,
                                                             demo: dict[str, DemoCase]) -> None:
    with services.uow() as uow:
        first, created = anchors.record(uow.session, key=KEY, now=services.clock.now(), timezone="Asia/Shanghai")
        again, created_again = anchors.record(uow.session, key=KEY, now=services.clock.now(),
                                              timezone="Asia/Shanghai")
        uow.commit()
    assert created and not created_again and again == first  # one statement per day
    with services.uow() as uow:
        assert anchors.verify(uow.session, key=KEY).ok
    _rewrite_chain_from(services, 5)
    assert _verify(services).ok  # the chain alone cannot tell
    with services.uow() as uow:
        report = anchors.verify(uow.session, key=KEY)
    assert not report.ok and len(report.problems) == 1
    problem = report.problems[0]
    assert (problem.day, problem.seq) == (first.day, first.seq)
    assert "声明之后审计链被改写" in problem.message


def test_statements_altered_removed_or_under_another_key_are_caught(services: Services,
                                                                    demo: dict[str, DemoCase]) -> None:
    with services.uow() as uow:
        st, _ = anchors.record(uow.session, key=KEY, now=services.clock.now(), timezone="Asia/Shanghai")
        uow.commit()
    with services.uow() as uow:
        other = anchors.verify(uow.session, key="another-key")
    assert not other.ok and "签名无效" in other.problems[0].message
    assert "密钥编号" in other.problems[0].message
    sql(services, "UPDATE audit_anchor SET head_hash = :h", h="0" * 64)
    with services.uow() as uow:
        altered = anchors.verify(uow.session, key=KEY)
    assert not altered.ok and "已被改动" in altered.problems[0].message
    sql(services, "UPDATE audit_anchor SET head_hash = :h", h=st.head_hash)
    # the chain's last events removed and the head set back, so the chain alone looks whole
    with services.uow() as uow:
        keep = uow.session.get_one(AuditEvent, st.seq - 2)
        keep_seq, keep_hash = keep.seq, keep.hash
    sql(services, "DELETE FROM audit_event WHERE seq > :s", s=keep_seq)
    sql(services, "UPDATE audit_head SET seq = :s, hash = :h", s=keep_seq, h=keep_hash)
    assert _verify(services).ok
    with services.uow() as uow:
        removed = anchors.verify(uow.session, key=KEY)
    assert not removed.ok and "之后有事件被删除" in removed.problems[0].message


def test_a_statement_per_local_day(services: Services, demo: dict[str, DemoCase]) -> None:
    with services.uow() as uow:
        one, _ = anchors.record(uow.session, key=KEY, now=services.clock.now(), timezone="Asia/Shanghai")
        uow.commit()
    clock(services).advance(timedelta(days=1))
    with services.uow() as uow:
        two, created = anchors.record(uow.session, key=KEY, now=services.clock.now(), timezone="Asia/Shanghai")
        uow.commit()
    assert created and two.day == one.day + timedelta(days=1) and two.seq == one.seq
    with services.uow() as uow:
        assert anchors.verify(uow.session, key=KEY).checked == 2
        assert uow.session.execute(text("SELECT COUNT(*) FROM audit_anchor")).scalar_one() == 2


def test_statements_missing_for_days_are_named(services: Services, demo: dict[str, DemoCase]) -> None:
    """Deleting the statements made after a rewrite point leaves events no statement covers: with the
    time given (as `smeflow audit verify` and the pages do), that is a problem, not a quiet pass."""
    now, tz = services.clock.now(), "Asia/Shanghai"
    with services.uow() as uow:
        report = anchors.verify(uow.session, key=KEY, now=now, timezone=tz)
    assert report.ok and "没有任何签名声明覆盖" in report.warnings[0]  # never recorded: a warning
    assert "此前从未记录过声明" in report.warnings[0]
    with services.uow() as uow:
        anchors.record(uow.session, key=KEY, now=now, timezone=tz)
        uow.commit()
    with services.uow() as uow:
        fresh = anchors.verify(uow.session, key=KEY, now=now, timezone=tz)
    assert fresh.ok and fresh.warnings == ()
    clock(services).advance(timedelta(days=1))
    with services.uow() as uow:  # a new event after the statement
        audit.append(uow.session, kind="test.note", actor="test", at=services.clock.now(), payload={})
        uow.commit()
    clock(services).advance(timedelta(days=1))
    with services.uow() as uow:
        assert anchors.verify(uow.session, key=KEY, now=services.clock.now(), timezone=tz).ok  # yesterday's: fine
    clock(services).advance(timedelta(days=1))
    with services.uow() as uow:
        late = anchors.verify(uow.session, key=KEY, now=services.clock.now(), timezone=tz)
    assert not late.ok and "其后的声明缺失" in late.problems[0].message  # then: a problem


def test_a_damaged_packed_state_is_named_by_replay(services: Services, demo: dict[str, DemoCase]) -> None:
    """A state stored as a zstd frame (as on SQLite) whose bytes were altered in the database does not
    unpack, and replay names the stored state as changed and unreadable (no error page, no crash)."""
    app_id = demo["b"].application_id
    with services.uow() as uow:
        inst = uow.session.get_one(ProcessInstance, load_case(uow.session, app_id).instance_id)
        packed, instance_id = PackedBytes.pack(bytes(inst.state)), inst.id
    middle = len(packed) // 2
    sql(services, "UPDATE process_instance SET state = :s WHERE id = :i",
        s=packed[:middle] + bytes(b ^ 0xFF for b in packed[middle:middle + 8]) + packed[middle + 8:], i=instance_id)
    services.runtime.forget()
    result = replay_of(services, app_id)
    assert result.first is not None and result.first.what == "stored state"
    messages = [d.message for d in result.differences if d.what == "stored state"]
    assert any("在没有审计事件的情况下被改动" in m for m in messages)
    assert any("无法读取" in m for m in messages)
