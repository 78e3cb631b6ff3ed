"""The audit chain detects any stored event altered, removed or reordered."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from services.audit import chain as audit
from services.awards.demo import Demo
from services.bootstrap import Services
from tests.helpers import act, apply_for


@pytest.fixture
def history(services: Services) -> Services:
    Demo(services, echo=False).load()
    app_id = apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    act(services, app_id, "district-donghu", "approve")
    act(services, app_id, "bureau", "approve", amount_fen=100_000_00)
    return services


def _verify(services: Services) -> audit.ChainReport:
    with services.uow() as uow:
        return audit.verify(uow.session)


def _sql(services: Services, statement: str) -> None:
    with services.db.begin() as conn:
        conn.execute(text(statement))


def test_intact_chain_verifies(history: Services) -> None:
    report = _verify(history)
    assert report.ok and report.checked >= 17


@pytest.mark.parametrize("column,value", [
    ("payload", "'{\"forged\": true}'"), ("actor", "'mallory'"), ("kind", "'task.forged'"),
    ("at", "'2020-01-01 00:00:00+00:00'"),
])
def test_altering_any_field_of_any_event_is_detected(history: Services, column: str, value: str) -> None:
    total = _verify(history).checked
    for seq in (1, total // 2, total):
        with history.db.connect() as conn:
            original = conn.execute(text(f"SELECT {column} FROM audit_event WHERE seq = {seq}")).scalar_one()
        _sql(history, f"UPDATE audit_event SET {column} = {value} WHERE seq = {seq}")
        report = _verify(history)
        assert not report.ok and report.broken_at == seq, (column, seq, report)
        with history.db.begin() as conn:  # put it back: the next position is checked on an intact chain
            conn.execute(text(f"UPDATE audit_event SET {column} = :v WHERE seq = {seq}"), {"v": original})
        assert _verify(history).ok, (column, seq)


def test_each_position_is_named(history: Services) -> None:
    total = _verify(history).checked
    for seq in (total, total // 2, 1):  # tamper from the end backwards: the first break moves earlier
        _sql(history, f"UPDATE audit_event SET payload = '{{}}' WHERE seq = {seq}")
        assert _verify(history).broken_at == seq


def test_deleting_events_is_detected(history: Services) -> None:
    total = _verify(history).checked
    _sql(history, f"DELETE FROM audit_event WHERE seq = {total // 2}")
    report = _verify(history)
    assert not report.ok and report.broken_at == total // 2 and "missing" in (report.reason or "")


def test_deleting_the_last_event_is_detected(history: Services) -> None:
    total = _verify(history).checked
    _sql(history, f"DELETE FROM audit_event WHERE seq = {total}")
    report = _verify(history)
    assert not report.ok and "removed" in (report.reason or "")


def test_cli_names_the_first_broken_link(history: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import app
    from config.settings import get_settings

    monkeypatch.setenv("SMEFLOW_DATABASE_URL", history.settings.database_url)
    get_settings.cache_clear()
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "OK" in ok.output
    _sql(history, "UPDATE audit_event SET actor = 'mallory' WHERE seq = 7")
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1
    assert "broken at event 7" in bad.output and "Traceback" not in bad.output
    get_settings.cache_clear()
