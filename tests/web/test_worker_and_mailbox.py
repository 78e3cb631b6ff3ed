"""`smeflow up` and the worker fail loudly when the worker cannot start (its Prefect port taken), and
the dashboard says whether a worker runs; the local mail sink keeps every message and the demo users
read their own mail at /mailbox. Real processes, a real SMTP conversation (aiosmtpd), the real
outbox."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from app.mailsink import start_sink
from app.web import create_app
from notifications.smtp import SmtpMailer
from services.awards.demo import DEMO_PASSWORD
from services.bootstrap import Services
from services.dashboard.workers import record_state, worker_health
from services.mail import outbox
from tests.helpers import act, apply_for

Login = Callable[[str], TestClient]


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port on 127.0.0.1 where something already listens (what a user's other program would do)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _env(services: Services, prefect_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update({"SMEFLOW_ENVIRONMENT": "test", "SMEFLOW_DATABASE_URL": services.settings.database_url,
                "SMEFLOW_DATA_DIR": str(services.settings.data_dir), "SMEFLOW_PREFECT_PORT": str(prefect_port),
                "SMEFLOW_MAIL_SINK": "off"})
    return env


def test_a_worker_that_cannot_start_exits_1_and_the_dashboard_says_why(world: Services, held_port: int,
                                                                       login: Login) -> None:
    manager = login("manager")
    summary = re.compile(r'<p id="workers-summary"[^>]*>([^<]*)</p>')
    before = summary.search(manager.get("/dashboard").text)
    assert before and "没有后台任务进程报到过" in before.group(1)
    done = subprocess.run([sys.executable, "-m", "app.cli", "worker"], env=_env(world, held_port),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert f"port {held_port} on 127.0.0.1 is in use" in done.stderr
    page = manager.get("/dashboard").text
    after = summary.search(page)
    assert after and after.group(1).startswith("后台任务未运行：最近一次启动失败")
    assert f"技术信息：<code>port {held_port} on 127.0.0.1 is in use" in page and "启动失败</td>" in page


def test_up_stops_the_web_service_when_the_worker_cannot_start(world: Services, held_port: int) -> None:
    done = subprocess.run([sys.executable, "-m", "app.cli", "up", "--port", "0"], env=_env(world, held_port),
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "smeflow：错误：后台任务进程已退出（代码 1；smeflow worker，进程号 " in done.stderr
    assert "网页服务随之停止" in done.stderr
    assert "Application shutdown complete" in done.stderr  # the web service stopped, it did not linger


def test_dashboard_tells_a_beating_worker_from_a_silent_one(world: Services, login: Login) -> None:
    beats = world.settings.worker_heartbeat_seconds  # 30: silent after 3 missed beats (90 s)
    now = datetime.now(UTC)
    record_state(world.sessions, name="host-a:11", state="serving", now=now - timedelta(seconds=beats * 3 + 1))
    with world.sessions() as session:
        health = worker_health(session, heartbeat_seconds=beats, now=now)
    assert not health.ok and [w.state_zh for w in health.workers] == ["失去响应"]
    record_state(world.sessions, name="host-b:12", state="serving", now=now - timedelta(seconds=beats * 3))
    with world.sessions() as session:
        health = worker_health(session, heartbeat_seconds=beats, now=now)
    assert health.ok and [w.state_zh for w in health.workers] == ["运行中", "失去响应"]
    record_state(world.sessions, name="host-b:12", state="serving")  # a beat now
    page = login("manager").get("/dashboard").text
    assert "后台任务正常：1 个进程运行中" in page and "host-b · 进程号 12" in page
    with TestClient(create_app(world)) as api:
        token = api.post("/api/v1/tokens", json={"username": "manager", "password": DEMO_PASSWORD}).json()["token"]
        board = api.get("/api/v1/dashboard", headers={"Authorization": f"Bearer {token}"}).json()
    assert board["workers_ok"] is True
    assert [(w["name"], w["state"], w["alive"]) for w in board["workers"]] == [
        ("host-b:12", "serving", True), ("host-a:11", "serving", False)]


def test_the_mail_sink_keeps_each_message_and_each_user_reads_their_own(world: Services, login: Login) -> None:
    sink = start_sink(world.settings, port=0)
    try:
        app_id = apply_for(world, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
        act(world, app_id, "district-donghu", "return", reason="缺少认定文件扫描件")
        mailer = SmtpMailer(world.settings.model_copy(update={"smtp_port": sink.port}), timeout=10)
        report = outbox.dispatch(world.uow, mailer, world.clock.now())
    finally:
        sink.stop()
    assert report.sent >= 1 and report.failed == 0
    stored = sorted((world.settings.data_dir / "mailbox").glob("*.eml"))
    assert len(stored) == report.sent
    applicant = login("applicant-a")
    listing = applicant.get("/mailbox")
    assert listing.status_code == 200 and '<a href="/mailbox">我的邮件</a>' in listing.text
    keys = re.findall(r'href="/mailbox/([^"]+\.eml)"', listing.text)
    assert keys, listing.text
    message = applicant.get(f"/mailbox/{keys[0]}")
    assert message.status_code == 200 and "缺少认定文件扫描件" in message.text
    assert login("applicant-b").get(f"/mailbox/{keys[0]}").status_code == 404  # not addressed to them
    assert login("admin").get(f"/mailbox/{keys[0]}").status_code == 200  # the admin reads every message
    assert applicant.get("/mailbox/..%2F..%2Fsmeflow.db").status_code == 404


def test_no_mailbox_where_real_smtp_is_configured(world: Services) -> None:
    world.settings = world.settings.model_copy(update={"smtp_host": "smtp.example.gov.cn", "smtp_port": 587})
    with TestClient(create_app(world), follow_redirects=False) as c:
        assert c.post("/login", data={"username": "applicant-a", "password": DEMO_PASSWORD}).status_code == 303
        assert c.get("/mailbox").status_code == 404
        assert '<a href="/mailbox">' not in c.get("/my").text
