"""Replay re-executes each recorded case on its own diagram and reproduces the stored record."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from services.accounts.users import get_user
from services.audit import bundles, replay, replay_state
from services.awards.demo import Demo, DemoCase
from services.awards.routes import current_route
from services.bootstrap import Services, build
from services.db.models import AuditEvent
from services.engine.runtime import Engine
from services.errors import Forbidden, NotFound
from tests.audit.conftest import overdue_case, replay_of
from tests.conftest import START
from tests.helpers import snapshot


def test_every_demo_case_reproduces_on_every_path(services: Services, demo: dict[str, DemoCase]) -> None:
    before = snapshot(services)
    results = {key: replay_of(services, case.application_id) for key, case in demo.items()}
    for key, result in results.items():
        assert result.reproduced, (key, result.verdict, result.differences)
        assert result.verdict == "回放重现了记录" and result.source == "database"
    assert snapshot(services) == before  # replay never writes
    paths = {key: r.steps[-1].path for key, r in results.items()}
    ends = {key: r.steps[-1].outcome for key, r in results.items()}
    assert ends == {"a": "end_paid", "b": "end_paid", "c": "end_rejected_district", "d": "end_rejected_bureau",
                    "e": "end_paid", "f": None}
    # b: returned, corrected and resubmitted, so the district check was done twice
    assert paths["b"].count("district_check") == 2 and "correct_application" in paths["b"]
    assert "clear_stale_decisions" in paths["b"]
    # e: an objection during the public notice sent it back to the bureau review
    assert paths["e"].count("bureau_review") == 2 and "public_notice" in paths["e"]
    # the public notice period is a timer, fired by the sweep and replayed at its recorded time
    for key in ("a", "b", "e", "f"):
        fired = [s for s in results[key].steps if s.kind == "timer.fire"]
        assert [s.recorded["timers"] for s in fired] == [["public_notice_period"]], key
        assert "public_notice_period" in fired[0].passed
    # f: the fund was exhausted, the payout was refused, finance deferred it: it waits for a top-up
    assert [t.spec for t in results["f"].steps[-1].open_tasks] == ["finance_deferred"]
    assert "finance_payout" in paths["f"]


def test_an_overdue_stage_timer_replays(services: Services) -> None:
    Demo(services, echo=False).load()
    app_id = overdue_case(services)
    result = replay_of(services, app_id)
    assert result.reproduced, result.differences
    kinds = [s.kind for s in result.steps]
    assert kinds[:3] == ["case.start", "timer.fire", "task.escalate"] and kinds[-1] == "task.complete"
    fired = result.steps[1]
    assert fired.passed == ("district_check_deadline", "overdue_district_check")
    assert [t.spec for t in fired.open_tasks] == ["district_check"]  # non-interrupting: still open
    assert [t.spec for t in result.steps[-1].open_tasks] == ["bureau_review"]


def test_a_case_replays_with_the_time_limits_it_ran_under(services: Services) -> None:
    """The district check's limit changes from 10 to 20 working days after the case ran: the replay
    still counts the deadline with the 10 days each step recorded, and reproduces the case."""
    Demo(services, echo=False).load()
    app_id = overdue_case(services)
    with services.uow() as uow:
        start = uow.session.scalars(select(AuditEvent).where(AuditEvent.application_id == app_id,
                                                             AuditEvent.kind == "case.start")).one()
    assert orjson.loads(start.payload)["stage_limits"] == {"district_check": 10}
    limits = {**services.settings.stage_limits, "district_check": 20}
    later = build(services.settings.model_copy(update={"stage_limits": limits}), clock=services.clock)
    try:
        result = replay_of(later, app_id)
        assert result.reproduced, result.differences
        # a limit that no step recorded (a record from before limits were recorded) is taken from
        # the settings: with 20 days the overdue timer would not have fired when it did
        assert replay.deadline_function(stage_limits=limits, timezone="Asia/Shanghai")(
            "district_check", START) > replay.deadline_function(
            stage_limits=services.settings.stage_limits, timezone="Asia/Shanghai")("district_check", START)
    finally:
        later.db.dispose()


def test_step_through_shows_open_tasks_data_changes_and_path(services: Services,
                                                             demo: dict[str, DemoCase]) -> None:
    result = replay_of(services, demo["b"].application_id)
    first, returned, resubmitted = result.step(1), result.step(2), result.step(3)
    assert first.kind == "case.start" and [t.spec for t in first.open_tasks] == ["district_check"]
    assert first.data["requested_fen"] == 60_000_00 and first.path == ("start", "gw_merge_district")
    assert {t.spec for t in first.timers} == {"district_check_deadline"}
    assert returned.actor == "district-xihu" and returned.task == "district_check"
    assert [t.spec for t in returned.open_tasks] == ["correct_application"]
    changed = {c.field: (c.before, c.after) for c in returned.changes}
    assert changed["decision"] == (None, "return") and changed["reason"] == (None, "缺少认定文件扫描件")
    assert returned.opened == ("correct_application",) and returned.closed == ()
    assert resubmitted.passed == ("correct_application", "clear_stale_decisions", "gw_merge_district")
    assert len(resubmitted.path) > len(returned.path) > len(first.path)
    payout = next(s for s in result.steps if s.kind == "payout")
    assert not payout.changes_state and payout.changes == ()


def test_engine_dumps_is_reproducible_only_in_canonical_form(services: Services) -> None:
    """The comparison's premise: the same commands under the same clock give the same state up to
    task UUIDs, the wall-clock `last_state_change` and the order of `deletions`."""
    with services.uow() as uow:
        route = current_route(uow.session, services.engine, "award_enterprise_honour")
    data = {"application_id": 1, "award_type": "m2-srdi-sme-city", "cap_fen": 5_000_000, "requested_fen": 1,
            "review_unit": "donghu", "decision": None, "reason": None, "award_amount_fen": None,
            "payment_reference": None}
    states = []
    for _ in range(2):
        engine = Engine(services.stage_deadline)
        wf, snap = engine.start(route, data, START)
        engine.complete(wf, snap.human[0].task_id, {"decision": "return", "reason": "x"}, START + timedelta(hours=1))
        states.append(engine.dumps(wf))
    assert states[0] != states[1]
    first, second = (replay_state.canonical_state(s) for s in states)
    assert first.value == second.value and first.sha256 == second.sha256
    raw = orjson.loads(states[0])
    assert set(raw["tasks"]) == set(first.labels)
    assert all("last_state_change" not in t for t in first.value["tasks"])


def test_task_state_values_match_the_engine() -> None:
    assert int(TaskState.COMPLETED) == replay_state.COMPLETED


def test_only_auditors_managers_and_admins_replay_or_export(services: Services, demo: dict[str, DemoCase]) -> None:
    case = demo["a"].application_id
    with services.uow() as uow:
        for name in ("auditor", "manager", "admin"):
            user = get_user(uow.session, name)
            assert replay.replay_case(uow, services, application_id=case, user=user).reproduced
        raw = bundles.bundle_bytes(uow, services, application_id=case, actor="auditor", now=services.clock.now(),
                                   user=get_user(uow.session, "auditor"))
        assert raw.startswith(b"{") and b"smeflow.evidence-bundle/1" in raw
        for name in ("applicant-a", "district-donghu", "bureau"):
            with pytest.raises(Forbidden):
                replay.replay_case(uow, services, application_id=case, user=get_user(uow.session, name))
        with pytest.raises(NotFound):
            replay.replay_case(uow, services, application_id=9999, user=get_user(uow.session, "auditor"))
