"""The Prefect flows run for real (a temporary Prefect server, the test database), at instants the
tests set with SMEFLOW_CLOCK (the flows and the CLI read "now" from it in test and development), so
each expectation is counted by hand on the holiday calendar and holds on any day the suite runs;
their deployments carry the configured schedules, and `smeflow worker` serves every declared flow
against a configured Prefect API without starting a server of its own. Each flow run costs about
0.2 s, the harness about 12 s once per test process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.worker import _server_needed
from config.settings import Settings, get_settings
from services.awards.demo import Demo
from services.bootstrap import Services
from services.db.models import AuditEvent
from services.mail import outbox
from tests.arrears.conftest import build_campaign
from tests.helpers import apply_for, open_item
from tests.smtp import SmtpServer
from workflows.flows import daily_reminders, deadline_sweep, mail_outbox
from workflows.schedules import DEPLOYMENT_NAME, all_deployments, deployments


def at(monkeypatch: pytest.MonkeyPatch, instant: str) -> None:
    """Run the next flows as if it were `instant` (SMEFLOW_CLOCK, ISO with its offset)."""
    monkeypatch.setenv("SMEFLOW_CLOCK", instant)
    get_settings.cache_clear()


def test_sweep_flow_fires_the_deadline_at_the_hand_counted_instant(flow_env: Services,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    services = flow_env
    Demo(services, echo=False).load()
    # filed Monday 2024-06-03 09:00; 10 working days: Jun 4-7, [Sat 8, Sun 9, Mon 10 端午节], Jun 11-14,
    # Mon 17, Tue 18 -> due at the end of Tuesday 2024-06-18 (2024-06-19 00:00 Shanghai)
    app_id = apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    at(monkeypatch, "2024-06-18T23:59+08:00")
    assert asyncio.run(deadline_sweep()) == {"due_instances": 0, "fired": 0, "skipped": 0, "escalated": 0}
    assert not open_item(services, app_id).overdue
    at(monkeypatch, "2024-06-19T00:01+08:00")
    summary = asyncio.run(deadline_sweep())
    json.dumps(summary)
    assert summary == {"due_instances": 1, "fired": 1, "skipped": 0, "escalated": 0}
    assert open_item(services, app_id).overdue
    assert asyncio.run(deadline_sweep())["fired"] == 0  # fired once only


def test_reminders_flow_queues_the_digest_on_working_days_only_and_once(flow_env: Services,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    services = flow_env
    Demo(services, echo=False).load()
    apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)  # 东湖区's inbox
    at(monkeypatch, "2024-06-10T09:00+08:00")  # Monday, 端午节: a day off
    assert asyncio.run(daily_reminders()) == {"working_day": False, "officers": 0, "queued": 0}
    at(monkeypatch, "2024-06-11T09:00+08:00")  # Tuesday: the two 东湖区 district officers have the case
    assert asyncio.run(daily_reminders()) == {"working_day": True, "officers": 2, "queued": 2}
    assert asyncio.run(daily_reminders()) == {"working_day": True, "officers": 2, "queued": 0}  # once a day


def test_campaign_flows_run_for_real_on_the_calendar(flow_env: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """The arrears sweep, reminders and monthly report, and the daily chain-head statement, as real
    flow runs. Both steps below are the bureau's and open on Monday 2024-06-03 09:00 with 10 working
    days: due at the end of Tuesday 2024-06-18 (as the award case above)."""
    from workflows.arrears_flows import arrears_monthly, arrears_reminders, arrears_sweep
    from workflows.audit_flows import audit_anchor

    c = build_campaign(flow_env)
    registered = c.register(n=1)  # its acceptance review (no route yet)
    started = c.register(n=2)
    c.act(started, "acceptance_review", "bureau", "accept")  # its transfer, with the route's timer

    at(monkeypatch, "2024-06-13T09:00+08:00")  # Thursday: 2 working days ahead is Mon 17, not yet due soon
    assert asyncio.run(arrears_reminders()) == {"working_day": True, "digests": 0, "escalated": 0,
                                                "confirmations": 0}
    at(monkeypatch, "2024-06-14T09:00+08:00")  # Friday: 2 working days ahead is Tue 18: due soon,
    assert asyncio.run(arrears_reminders()) == {"working_day": True, "digests": 2, "escalated": 0,
                                                "confirmations": 0}  # bureau, bureau2
    assert asyncio.run(arrears_reminders())["digests"] == 0  # one digest per officer and day

    at(monkeypatch, "2024-06-18T23:59+08:00")
    assert asyncio.run(arrears_sweep()) == {"due_cases": 0, "fired": 0, "skipped": 0, "marked_overdue": 0}
    at(monkeypatch, "2024-06-19T00:01+08:00")
    assert asyncio.run(arrears_sweep()) == {"due_cases": 1, "fired": 1, "skipped": 0, "marked_overdue": 1}
    assert asyncio.run(arrears_sweep())["fired"] == 0
    assert c.open_steps(registered)["acceptance_review"].overdue and c.open_steps(started)["transfer"].overdue

    # overdue working days after Tue 18: Wed 19 (1), Thu 20 (2), Fri 21 (3): 督办 on Friday, not before
    at(monkeypatch, "2024-06-20T09:00+08:00")
    assert asyncio.run(arrears_reminders())["escalated"] == 0
    at(monkeypatch, "2024-06-21T09:00+08:00")
    assert asyncio.run(arrears_reminders())["escalated"] == 2

    at(monkeypatch, "2024-07-01T10:00+08:00")  # Monday, the first working day of July: June's report
    assert asyncio.run(arrears_monthly()) == {"ran": True, "mailed": True}
    assert asyncio.run(arrears_monthly()) == {"ran": True, "mailed": False}  # the managers' mail once
    assert (flow_env.settings.data_dir / "reports").is_dir()
    at(monkeypatch, "2024-07-02T10:00+08:00")
    assert asyncio.run(arrears_monthly()) == {"ran": False, "mailed": False}
    at(monkeypatch, "2024-10-07T10:00+08:00")  # National Day week: October has no working day yet
    assert asyncio.run(arrears_monthly()) == {"ran": False, "mailed": False}
    at(monkeypatch, "2024-10-08T10:00+08:00")  # Tuesday after the holiday: the first working day
    assert asyncio.run(arrears_monthly()) == {"ran": True, "mailed": True}

    with flow_env.uow() as uow:
        events = len(uow.session.scalars(select(AuditEvent.seq)).all())
    statement = asyncio.run(audit_anchor())
    assert (statement["created"], statement["day"], statement["seq"]) == (True, "2024-10-08", events)
    assert asyncio.run(audit_anchor())["created"] is False  # one statement a day


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        server.start()
        monkeypatch.setenv("SMEFLOW_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("SMEFLOW_SMTP_PORT", str(server.port))
        yield server


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


def test_worker_with_an_api_url_serves_every_declared_flow_there_and_starts_no_server(
        prefect_server: None, tmp_path: Path) -> None:
    """`smeflow worker` in its own process (stopped with SIGTERM, as systemd would: the signal goes to
    that process, never to pytest's), against the test's Prefect server; every deployment that
    workflows/schedules.py declares gets registered there."""
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    assert api_url
    names = [d.flow_name for d in all_deployments(Settings(environment="test"))]
    assert len(names) == len(set(names)) >= 7
    env = {**os.environ, "PREFECT_API_URL": api_url, "SMEFLOW_ENVIRONMENT": "test",
           "SMEFLOW_DATA_DIR": str(tmp_path), "SMEFLOW_DATABASE_URL": f"sqlite:///{tmp_path}/worker.db",
           "SMEFLOW_PREFECT_PORT": "1"}  # port 1: the worker would fail if it tried to start a server
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180  # a readiness wait (Prefect's import is slow on a busy machine)
        while worker.poll() is None and time.monotonic() < deadline:
            if all(_deployment_exists(api_url, n) for n in names):
                break
            time.sleep(0.5)
        missing = [n for n in names if not _deployment_exists(api_url, n)]
        assert not missing, f"not served: {missing}; {(tmp_path / 'worker.log').read_text()[-2000:]}"
        assert worker.poll() is None, "the worker exited on its own"
    finally:
        worker.terminate()  # SIGTERM to the worker process only
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
    assert worker.returncode == 0, (tmp_path / "worker.log").read_text()[-2000:]
    assert not (tmp_path / "prefect").exists()  # no local server was started
