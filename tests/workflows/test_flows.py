"""The Prefect flows run for real (a temporary Prefect server, the test database, the real clock),
their deployments carry the configured schedules, and `smeflow worker` serves against a configured
Prefect API without starting a server of its own. Few tests: each flow run costs about 0.2 s, the
harness about 12 s once per test process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from app.worker import _server_needed, run_worker
from config.settings import Settings
from services.awards.demo import Demo
from services.bootstrap import Services
from services.mail import outbox
from tests.helpers import apply_for, open_item
from tests.smtp import SmtpServer
from workflows.flows import daily_reminders, deadline_sweep, mail_outbox
from workflows.schedules import DEPLOYMENT_NAME, all_deployments, deployments


def test_sweep_flow_fires_a_long_due_timer(flow_env: Services) -> None:
    services = flow_env
    Demo(services, echo=False).load()
    app_id = apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    # the case was filed on the 2024 test clock; by the real clock its district check is long overdue
    summary = asyncio.run(deadline_sweep())
    json.dumps(summary)
    assert summary["due_instances"] == 1 and summary["fired"] >= 1, summary
    assert open_item(services, app_id).overdue
    assert asyncio.run(deadline_sweep())["fired"] == 0  # fired once only


def test_reminders_flow_queues_the_digest_once_on_working_days(flow_env: Services) -> None:
    services = flow_env
    Demo(services, echo=False).load()
    apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    today = services.clock.now().astimezone(ZoneInfo(services.settings.timezone)).date()
    working_day = services.calendar.is_workday(today)  # the real clock: today
    first = asyncio.run(daily_reminders())
    assert first["working_day"] is working_day, first
    assert (first["queued"] >= 1) is working_day, first
    assert asyncio.run(daily_reminders())["queued"] == 0  # one digest per officer and day


def test_campaign_and_audit_flows_run_for_real(flow_env: Services) -> None:
    """The arrears sweep and the daily chain-head statement as real flow runs (once each, idempotent)."""
    from services.arrears.demo import ArrearsDemo
    from workflows.arrears_flows import arrears_sweep
    from workflows.audit_flows import audit_anchor

    services = flow_env
    Demo(services, echo=False).load()
    ArrearsDemo(services, say=lambda _line: None).load()
    first = asyncio.run(arrears_sweep())  # the demo ran on the 2024 clock: by the real clock, timers are due
    json.dumps(first)
    assert first["fired"] >= 1, first
    assert asyncio.run(arrears_sweep())["fired"] == 0
    statement = asyncio.run(audit_anchor())
    assert statement["created"] is True and statement["seq"] >= 1
    assert asyncio.run(audit_anchor())["created"] is False  # one statement a day


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    monkeypatch.setenv("SMEFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMEFLOW_SMTP_PORT", str(server.port))
    yield server
    server.stop()


def test_outbox_flow_sends_pending_mail(flow_env: Services, smtp: SmtpServer) -> None:
    services = flow_env
    with services.uow() as uow:
        outbox.enqueue(uow.session, to=["ent@example.com"], template="application_paid",
                       context={"enterprise_name": "洪城科技有限公司", "application_id": 42,
                                "award_name": "专精特新中小企业奖励", "amount_fen": 30000000,
                                "reference": "NCZF-2024-0001", "paid_at": services.clock.now()},
                       now=services.clock.now(), application_id=42)
        uow.commit()
    summary = asyncio.run(mail_outbox())
    assert summary["sent"] == 1 and summary["failed"] == 0, summary
    assert [m["To"] for m in smtp.inbox.messages()] == ["ent@example.com"]


def test_deployments_carry_the_configured_schedules() -> None:
    settings = Settings(environment="test", sweep_interval_seconds=90, outbox_interval_seconds=30,
                        reminders_cron="30 8 * * *", timezone="Asia/Shanghai")
    sweep, reminders, mail = deployments(settings)
    assert [d.flow_name for d in (sweep, reminders, mail)] == [
        "smeflow-deadline-sweep", "smeflow-reminders", "smeflow-outbox"]
    assert {d.name for d in (sweep, reminders, mail)} == {DEPLOYMENT_NAME}
    assert sweep.schedules is not None and mail.schedules is not None and reminders.schedules is not None
    assert [s.schedule.interval for s in sweep.schedules] == [timedelta(seconds=90)]  # type: ignore[union-attr]
    assert [s.schedule.interval for s in mail.schedules] == [timedelta(seconds=30)]  # type: ignore[union-attr]
    [cron] = [s.schedule for s in reminders.schedules]
    assert (cron.cron, cron.timezone) == ("30 8 * * *", "Asia/Shanghai")  # type: ignore[union-attr]
    assert sweep.entrypoint == "workflows.flows.deadline_sweep"  # importable from any working directory


def test_the_worker_serves_every_scheduled_flow() -> None:
    served = {d.flow_name: d for d in all_deployments(Settings(environment="test"))}
    assert set(served) == {"smeflow-deadline-sweep", "smeflow-reminders", "smeflow-outbox",
                           "smeflow-arrears-sweep", "smeflow-arrears-reminders", "smeflow-arrears-monthly",
                           "smeflow-arrears-disclosure", "smeflow-audit-anchor"}
    assert all(d.schedules for d in served.values())


def test_server_needed_only_without_an_api_url() -> None:
    assert _server_needed({})
    assert _server_needed({"PREFECT_API_URL": " "})
    assert not _server_needed({"PREFECT_API_URL": "http://prefect.internal:4200/api"})


def _deployment_exists(api_url: str, flow_name: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/deployments/name/{flow_name}/{DEPLOYMENT_NAME}", timeout=2) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def test_worker_with_an_api_url_serves_there_and_starts_no_server(
        prefect_server: None, tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    assert api_url
    monkeypatch.setenv("PREFECT_API_URL", api_url)
    settings = Settings(environment="test", data_dir=tmp_path, prefect_port=1)  # port 1: would fail if used
    names = ("smeflow-deadline-sweep", "smeflow-reminders", "smeflow-outbox")

    def stop_when_served() -> None:  # SIGTERM, as systemd would send it, once all three are registered
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(_deployment_exists(api_url, n) for n in names):
            time.sleep(0.2)
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    stopper = threading.Thread(target=stop_when_served, daemon=True)
    stopper.start()
    try:
        run_worker(settings)  # returns on SIGTERM, or exits with status 0 when Prefect's runner exits
    except SystemExit as exc:
        assert exc.code in (0, None)
    stopper.join(5)
    assert all(_deployment_exists(api_url, n) for n in names)
    assert not (tmp_path / "prefect").exists()  # no local server was started
