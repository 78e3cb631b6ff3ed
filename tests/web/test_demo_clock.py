"""The demo on its own clock: every page shows the banner with the demo time, an admin moves the clock
forward (to the end of a public notice) and the case moves on; outside demo mode there is no clock
control and no banner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.web import create_app
from config.settings import Settings
from services.awards.demo import DEMO_PASSWORD
from services.bootstrap import Services, build
from services.db.models import User
from services.time.clock import DemoClock, SystemClock
from tests.democlock import demo_on_its_clock, newcomer_to_public_notice, stage
from tests.web.conftest import csrf_of

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def demo(services: Services) -> Iterator[Services]:
    wired = demo_on_its_clock(services)
    yield wired
    wired.db.dispose()


@pytest.fixture
def as_user(demo: Services) -> Iterator[Callable[[str], TestClient]]:
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        c = TestClient(create_app(demo), follow_redirects=False)
        clients.append(c)
        assert c.post("/login", data={"username": username, "password": DEMO_PASSWORD}).status_code == 303
        return c

    yield make
    for c in clients:
        c.close()


def test_every_page_shows_the_demo_clock(demo: Services, as_user: Callable[[str], TestClient]) -> None:
    assert isinstance(demo.clock, DemoClock) and demo.clock.active
    now = demo.clock.now().astimezone(SHANGHAI)
    assert datetime(2025, 6, 16, 10, 0, tzinfo=SHANGHAI) <= now < datetime(2025, 6, 16, 10, 10, tzinfo=SHANGHAI)
    applicant = as_user("applicant-g")
    for path in ("/my", "/calls", "/enterprise"):
        page = applicant.get(path).text
        assert "演示环境 · 演示时钟 2025-06-16 10:0" in page, path
    assert "2025年度优质中小企业奖补（演示）" in applicant.get("/calls").text  # open on the demo's date
    assert "拨动演示时钟" not in applicant.get("/my").text  # the control is the admin's


def test_admin_moves_the_clock_to_the_end_of_the_public_notice(demo: Services,
                                                               as_user: Callable[[str], TestClient]) -> None:
    app_id = newcomer_to_public_notice(demo)
    assert stage(demo, app_id) == "public_notice"
    admin = as_user("admin")
    page = admin.get("/admin/demo-clock").text
    assert "当前演示时间：<strong id=\"demo-now\">2025-06-16 10:0" in page
    # the public notice lasts 5 working days from 2025-06-16: it ends at midnight after 2025-06-23
    assert "下一个到期期限：2025年6月23日（周一）前" in page

    back = admin.post("/admin/demo-clock", data={"csrf_token": csrf_of(page), "to": "2025-01-01 09:00"})
    assert back.status_code == 422 and "只能向前拨" in back.text
    moved = admin.post("/admin/demo-clock", data={"csrf_token": csrf_of(page), "jump": "next_due"})
    assert moved.status_code == 200, moved.text
    assert "已将演示时钟拨至 2025-06-24 00:01；到期检查触发了 1 个计时器" in moved.text
    assert "演示环境 · 演示时钟 2025-06-24 00:0" in moved.text
    assert stage(demo, app_id) == "finance_payout"
    assert as_user("bureau").get("/admin/demo-clock").status_code == 403


def test_no_clock_control_outside_demo_mode(services: Services) -> None:
    demo_on_its_clock(services).db.dispose()  # a stored demo clock in the database ...
    production = build(Settings(database_url=services.settings.database_url, environment="production",
                                secret_key="s" * 32, audit_signing_key="k" * 32))
    assert isinstance(production.clock, SystemClock)  # ... is ignored outside development and test
    with production.uow() as uow:  # the demo accounts' public password is refused in production
        admin = uow.session.scalar(select(User).where(User.username == "admin"))
        assert admin is not None
        admin.password_hash = production.password_hasher.hash("a-real-admin-password-for-prod")
        uow.commit()
    with TestClient(create_app(production), base_url="https://testserver", follow_redirects=False) as c:
        assert c.post("/login", data={"username": "admin", "password": DEMO_PASSWORD}).status_code == 401
        r = c.post("/login", data={"username": "admin", "password": "a-real-admin-password-for-prod"})
        assert r.status_code == 303
        assert c.get("/admin/demo-clock").status_code == 404
        assert "演示环境" not in c.get("/admin").text
    production.db.dispose()
