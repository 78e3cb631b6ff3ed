"""The daily audit flow: what it records and how it is scheduled (a real flow run is one line in
tests/workflows, which owns the Prefect test server)."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="smeflow-prefect-home-"))

import pytest
from prefect.deployments.runner import RunnerDeployment
from sqlalchemy import select

from config.settings import Settings
from services.audit import anchors
from services.awards.demo import DemoCase
from services.bootstrap import Services
from services.db.models import AuditHead
from workflows import schedules
from workflows.audit_flows import ANCHOR_CRON, deployments, record_statement


def test_the_flow_body_records_one_signed_statement_a_day(services: Services, demo: dict[str, DemoCase]) -> None:
    first = record_statement(services, services.clock.now())
    again = record_statement(services, services.clock.now())
    assert first["created"] and not again["created"] and again["signature"] == first["signature"]
    with services.uow() as uow:
        report = anchors.verify(uow.session, key=services.settings.audit_signing_key)
        head = uow.session.execute(select(AuditHead)).scalar_one()
    assert report.ok and report.checked == 1 and report.latest is not None
    assert (report.latest.seq, report.latest.head_hash) == (head.seq, head.hash) == (first["seq"],
                                                                                    first["head_hash"])


def test_the_deployment_runs_daily_in_the_settings_time_zone() -> None:
    [deployment] = deployments(Settings(environment="test", timezone="Asia/Shanghai"))
    assert deployment.flow_name == "smeflow-audit-anchor" and deployment.name == "smeflow"
    assert deployment.schedules is not None
    [cron] = [s.schedule for s in deployment.schedules]
    assert (cron.cron, cron.timezone) == (ANCHOR_CRON, "Asia/Shanghai")  # type: ignore[union-attr]
    assert deployment.entrypoint == "workflows.audit_flows.audit_anchor"


def test_the_worker_serves_the_daily_statement_beside_the_other_flows(monkeypatch: pytest.MonkeyPatch) -> None:
    """`smeflow worker` (app.worker -> schedules.serve_all) and `smeflow deploy --pool` carry the audit flow."""
    served: list[RunnerDeployment] = []
    monkeypatch.setattr(schedules, "serve", lambda *ds, **_: served.extend(ds))
    schedules.serve_all(Settings(environment="test", timezone="Asia/Shanghai"))
    names = [d.flow_name for d in served]
    assert "smeflow-audit-anchor" in names and "smeflow-deadline-sweep" in names
    registered: list[RunnerDeployment] = []
    monkeypatch.setattr(schedules, "deploy", lambda *ds, **_: registered.extend(ds))
    schedules.deploy_to_pool(Settings(environment="test"), "pool")
    assert "smeflow-audit-anchor" in [d.flow_name for d in registered]
