"""Retention: closed cases move to archive bundles; the chain, replay and export keep working."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.audit import anchors, bundles, retention
from services.audit import chain as audit
from services.audit.bundle_format import BundleInvalid
from services.awards.demo import DemoCase
from services.bootstrap import Services
from services.db.models import Application, AuditEvent, CaseArchive, Payout, ProcessInstance, Timer, WorkItem
from tests.audit.conftest import replay_of, sql
from tests.helpers import clock, snapshot

CLOSED = ("a", "b", "c", "d", "e")


def _after_retention(services: Services) -> None:
    clock(services).advance(timedelta(days=services.settings.retention_days + 1))


def _count(services: Services, model: type, app_id: int) -> int:
    with services.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model).where(
            model.application_id == app_id)) or 0)  # type: ignore[attr-defined]


def test_closed_cases_are_archived_and_still_verify_replay_and_export(services: Services,
                                                                       demo: dict[str, DemoCase],
                                                                       tmp_path: Path) -> None:
    ids = {k: c.application_id for k, c in demo.items()}
    with services.uow() as uow:
        anchors.record(uow.session, key=services.settings.audit_signing_key, now=services.clock.now(),
                       timezone=services.settings.timezone)
        uow.commit()
    assert retention.archive(services, now=services.clock.now()).due == []  # nothing old enough yet
    _after_retention(services)
    before = snapshot(services)
    dry = retention.archive(services, now=services.clock.now(), dry_run=True)
    assert dry.due == sorted(ids[k] for k in CLOSED) and snapshot(services) == before  # f is still running
    report = retention.archive(services, now=services.clock.now(), actor="auditor")
    assert sorted(a.application_id for a in report.archived) == dry.due and report.refused == []
    for done in report.archived:
        assert (Path(services.settings.data_dir) / done.path).is_file()
        assert _count(services, WorkItem, done.application_id) == 0
    with services.uow() as uow:
        s = uow.session
        inst = s.get_one(ProcessInstance, s.get_one(Application, ids["a"]).instance_id)
        assert (inst.status, inst.state) == ("archived", b"")
        assert s.scalar(select(func.count()).select_from(Timer).where(Timer.instance_id == inst.id)) == 0
        assert s.get_one(Application, ids["a"]).status == "paid"  # the business records stay
        assert s.scalar(select(func.count()).select_from(Payout)) == 3  # f was refused
        assert s.scalar(select(func.count()).select_from(CaseArchive)) == 5
        assert audit.verify(s).ok and anchors.verify(s, key=services.settings.audit_signing_key).ok
        assert retention.check_archives(uow, data_dir=services.settings.data_dir).problems == ()
        kinds = s.scalars(select(AuditEvent.kind).where(AuditEvent.application_id == ids["b"])).all()
        assert kinds[-1] == "case.archive"
    for key in CLOSED:
        result = replay_of(services, ids[key])
        assert result.reproduced and result.source == "archive", (key, result.differences)
    live = replay_of(services, ids["f"])
    assert live.reproduced and live.source == "database"
    with services.uow() as uow:
        done = bundles.export_case(uow, services, application_id=ids["b"], out=tmp_path / "b.json", actor="auditor",
                                   now=services.clock.now())
    archived = next(a for a in report.archived if a.application_id == ids["b"])
    assert done.sha256 == archived.sha256 and done.anchored
    assert bundles.check_bundle(done.path, signing_key=services.settings.audit_signing_key).ok
    assert retention.archive(services, now=services.clock.now()).due == []


def test_an_altered_archive_is_detected(services: Services, demo: dict[str, DemoCase]) -> None:
    _after_retention(services)
    report = retention.archive(services, now=services.clock.now())
    victim = report.archived[0]
    path = Path(services.settings.data_dir) / victim.path
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))
    with services.uow() as uow:
        problems = retention.check_archives(uow, data_dir=services.settings.data_dir).problems
    assert len(problems) == 1 and f"案件 {victim.application_id}：" in problems[0] and "被改动" in problems[0]
    with pytest.raises(BundleInvalid, match="被改动"):
        replay_of(services, victim.application_id)


def test_a_case_that_does_not_reproduce_is_not_archived(services: Services, demo: dict[str, DemoCase]) -> None:
    app_id = demo["c"].application_id
    with services.uow() as uow:
        instance_id = uow.session.get_one(Application, app_id).instance_id
    sql(services, "UPDATE work_item SET completed_by = 'mallory' WHERE application_id = :a", a=app_id)
    _after_retention(services)
    report = retention.archive(services, now=services.clock.now())
    assert [i for i, _ in report.refused] == [app_id]
    assert "的存储记录（办理人、时间或状态）与办理它的事件" in report.refused[0][1]
    assert app_id not in {a.application_id for a in report.archived}
    with services.uow() as uow:
        assert uow.session.get_one(ProcessInstance, instance_id).status == "completed"
    assert _count(services, WorkItem, app_id) == 1
