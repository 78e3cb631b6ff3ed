"""Each award route driven through every path by the engine wrapper, with a serialize/restore
round trip in the middle of every case (as SpiffWorkflow's own tests do)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.awards.routes import bundled_documents
from services.engine.runtime import Engine

T0 = datetime(2024, 6, 3, 1, 0, tzinfo=UTC)
CAP = 30_000_000
DOCS = bundled_documents()


def _engine() -> Engine:
    return Engine(lambda stage, now: now + timedelta(days=7))


def _start(name: str) -> tuple[Engine, Any, Any]:
    engine = _engine()
    route = engine.route(DOCS[name])
    wf, _snap = engine.start(route, {"cap_fen": CAP, "application_id": 1}, T0)
    return engine, route, wf


def drive(name: str, steps: list[tuple[str, dict[str, Any]]], *, notice_passes: bool = True) -> tuple[Engine, Any]:
    """Complete `steps` in order (each: the task expected open, its data); round-trip halfway."""
    engine, _route, wf = _start(name)
    now = T0
    for i, (spec, data) in enumerate(steps):
        if i == len(steps) // 2:
            wf = engine.loads(engine.dumps(wf))
        open_specs = [t.spec for t in engine.human_tasks(wf)]
        if spec == "finance_payout" and notice_passes and "public_notice" in open_specs:
            now += timedelta(days=8)
            fired, _snap = engine.fire_due_timers(wf, now)
            assert [t.spec for t in fired] == ["public_notice_period"]
            open_specs = [t.spec for t in engine.human_tasks(wf)]
        assert open_specs == [spec], f"step {i}: expected {spec}, open {open_specs}"
        task = engine.human_tasks(wf)[0]
        now += timedelta(hours=1)
        engine.complete(wf, task.task_id, data, now)
    return engine, wf


APPROVE = {"decision": "approve", "reason": None}
BUREAU_OK = {"decision": "approve", "reason": None, "award_amount_fen": 25_000_000}
PAY = {"decision": "pay", "reason": None, "payment_reference": "P-1"}
ROUTES = ["award_enterprise_honour.bpmn", "award_service_platform.bpmn", "award_base.bpmn"]


def district(name: str) -> list[tuple[str, dict[str, Any]]]:
    steps = [("district_check", APPROVE)]
    if name == "award_base.bpmn":
        steps.append(("onsite_check", APPROVE))
    return steps


@pytest.mark.parametrize("name", ROUTES)
def test_straight_to_payout(name: str) -> None:
    engine, wf = drive(name, [*district(name), ("bureau_review", BUREAU_OK), ("finance_payout", PAY)])
    assert engine.outcome(wf) == ("end_paid", "已拨付")
    assert engine.data(wf)["award_amount_fen"] == 25_000_000


@pytest.mark.parametrize("name", ROUTES)
def test_return_and_resubmit_clears_stale_decisions(name: str) -> None:
    ret = {"decision": "return", "reason": "缺材料"}
    engine, _route, wf = _start(name)
    steps = [*district(name), ("bureau_review", ret), ("correct_application", {"decision": "resubmit"})]
    now = T0
    for spec, data in steps:
        task = engine.human_tasks(wf)[0]
        assert task.spec == spec
        now += timedelta(hours=1)
        engine.complete(wf, task.task_id, data, now)
    wf = engine.loads(engine.dumps(wf))
    [task] = engine.human_tasks(wf)
    assert task.spec == "district_check"
    data = engine.data(wf)
    assert data["decision"] is None and data["reason"] is None and data["award_amount_fen"] is None


@pytest.mark.parametrize("name", ROUTES)
def test_reject_at_district(name: str) -> None:
    engine, wf = drive(name, [("district_check", {"decision": "reject", "reason": "不符合"})])
    assert engine.outcome(wf) == ("end_rejected_district", "不予通过（区县）")
    assert engine.waiting_timers(wf) == []


@pytest.mark.parametrize("name", ROUTES)
def test_reject_at_bureau(name: str) -> None:
    engine, wf = drive(name, [*district(name), ("bureau_review", {"decision": "reject", "reason": "x"})])
    assert engine.outcome(wf) == ("end_rejected_bureau", "不予通过（市局）")


@pytest.mark.parametrize("name", ROUTES)
def test_objection_sends_case_back_to_bureau_review(name: str) -> None:
    engine, wf = drive(name, [*district(name), ("bureau_review", BUREAU_OK),
                              ("public_notice", {"decision": "objection", "reason": "实名异议"}),
                              ("bureau_review", {**BUREAU_OK, "award_amount_fen": 20_000_000}),
                              ("finance_payout", PAY)])
    assert engine.outcome(wf) == ("end_paid", "已拨付")
    assert engine.data(wf)["award_amount_fen"] == 20_000_000


@pytest.mark.parametrize("name", ROUTES)
def test_amount_over_cap_is_refused_by_the_route_itself(name: str) -> None:
    from services.errors import EngineFailure

    engine, _route, wf = _start(name)
    now = T0
    for _spec, data in district(name):
        task = engine.human_tasks(wf)[0]
        engine.complete(wf, task.task_id, data, now)
    task = engine.human_tasks(wf)[0]
    assert task.spec == "bureau_review"
    with pytest.raises(EngineFailure):
        engine.complete(wf, task.task_id, {"decision": "approve", "award_amount_fen": CAP + 1}, now)


def test_deadline_timer_marks_overdue_but_keeps_the_task_open() -> None:
    engine, _route, wf = _start("award_enterprise_honour.bpmn")
    [timer] = engine.waiting_timers(wf)
    assert timer.attached_to == "district_check"
    assert timer.due_at == T0 + timedelta(days=7)
    assert engine.fire_due_timers(wf, T0 + timedelta(days=6))[0] == []
    fired, _snap = engine.fire_due_timers(wf, T0 + timedelta(days=8))
    assert [t.spec for t in fired] == ["district_check_deadline"]
    assert [t.spec for t in engine.human_tasks(wf)] == ["district_check"]
    assert engine.waiting_timers(wf) == []


def test_tasks_describe_their_decisions() -> None:
    engine, _route, wf = _start("award_base.bpmn")
    [task] = engine.human_tasks(wf)
    assert task.lane == "district"
    assert task.decisions == ("approve", "return", "reject")
