"""Test helpers that drive cases through the real services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.awards import applications, tasks
from services.awards.deadlines import SweepReport, sweep
from services.awards.tasks import Decision
from services.bootstrap import Services
from services.db.base import Base
from services.db.models import Application, Call, Enterprise, Honour, WorkItem
from services.time.clock import ManualClock

# Debian's chromium, driven by Playwright for the browser tests (.ci/run installs it; .ci/check_skips.py
# fails a CI pass whose browser tests were skipped, by the word chromium in the reason)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
CHROMIUM_MISSING = f"needs Debian's chromium at {CHROMIUM}"
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=CHROMIUM_MISSING)


@contextmanager
def served(services: Services) -> Iterator[str]:
    """The web app on `services` served by uvicorn in a thread; yields its base URL. uvicorn binds
    port 0 itself and the port it got is read back: no port is chosen by bind-then-close, which
    another process could take in between."""
    import threading
    import time

    import uvicorn

    from app.web import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(services), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a readiness wait, generous for a loaded machine
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(5)


def clock(services: Services) -> ManualClock:
    assert isinstance(services.clock, ManualClock)
    return services.clock


def today(services: Services) -> Any:
    from zoneinfo import ZoneInfo

    return services.clock.now().astimezone(ZoneInfo(services.settings.timezone)).date()


def apply_for(services: Services, enterprise_name: str, award_code: str, requested_fen: int) -> int:
    """Apply in the (single) open call with the enterprise's first honour; returns the application id."""
    with services.uow() as uow:
        s = uow.session
        ent = s.scalars(select(Enterprise).where(Enterprise.name == enterprise_name)).one()
        honour = s.scalars(select(Honour).where(Honour.enterprise_id == ent.id)).first()
        assert honour is not None
        call = s.scalars(select(Call)).first()
        assert call is not None
        app = applications.apply(uow, services, call_id=call.id, enterprise_id=ent.id, award_type_code=award_code,
                                 honour_id=honour.id, requested_fen=requested_fen, description="test",
                                 actor="test", now=services.clock.now(), today=today(services))
        uow.commit()
        return app.id


def open_item(services: Services, app_id: int) -> WorkItem:
    with services.uow() as uow:
        item = uow.session.scalars(select(WorkItem).where(
            WorkItem.application_id == app_id, WorkItem.status == "open")).first()
        assert item is not None, f"application {app_id} has no open work item"
        return item


def act(services: Services, app_id: int, username: str, decision: str, *, reason: str | None = None,
        amount_fen: int | None = None, reference: str | None = None, item_id: int | None = None) -> None:
    """Complete the application's open work item as `username`."""
    clock(services).advance(timedelta(hours=2))
    target = item_id if item_id is not None else open_item(services, app_id).id
    with services.uow() as uow:
        tasks.complete(uow, services, item_id=target, username=username, now=services.clock.now(),
                       decision=Decision(decision, reason, amount_fen, reference))
        uow.commit()


def pass_public_notice(services: Services) -> SweepReport:
    clock(services).advance(timedelta(days=20))
    return sweep(services, services.clock.now())


def application(services: Services, app_id: int) -> Application:
    with services.uow() as uow:
        return uow.session.get_one(Application, app_id)


SIGN_IN_TABLES = frozenset({"user_session", "login_throttle"})


def snapshot(services: Services) -> dict[str, Any]:
    """Row counts of every table plus the audit head: 'the database as it was' (sign-in bookkeeping,
    sessions and failed sign-in counters, left out: a sign-in is not a change of the records)."""
    with services.uow() as uow:
        counts: dict[str, Any] = {
            t.name: uow.session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables
            if t.name not in SIGN_IN_TABLES
        }
        counts["audit_head"] = uow.session.execute(select(Base.metadata.tables["audit_head"])).all()
        counts["states"] = uow.session.execute(
            select(Base.metadata.tables["process_instance"].c.version)).all()
        return counts
