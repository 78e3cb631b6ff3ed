"""The audit chain detects any stored event altered, removed or reordered."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
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
    assert ok.exit_code == 0 and "审计链完好：共 " in ok.output
    _sql(history, "UPDATE audit_event SET actor = 'mallory' WHERE seq = 7")
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1
    assert "审计链断裂：第 7 号事件内容与其哈希不符（已被篡改）" in bad.output and "Traceback" not in bad.output
    get_settings.cache_clear()


def test_init_again_keeps_one_head_and_the_chain_goes_on(history: Services) -> None:
    """`smeflow init` is idempotent: run on a database with a chain, it neither fails nor starts a
    second head, and events appended after it still link to the old ones.

    Kills the `make mutants` survivor of `ensure_head` that looked the head up by a wrong key. Its
    survivors that insert the head without an explicit id are equivalent: the head is the first and
    only row of its table, so the database numbers it 1 on SQLite and PostgreSQL alike."""
    from services.db.models import AuditHead
    from services.setup import initialise

    before = _verify(history)
    initialise(history)
    with history.uow() as uow:
        heads = uow.session.scalars(select(AuditHead)).all()
        assert [(h.id, h.seq) for h in heads] == [(audit.HEAD_ID, before.checked)]
    app_id = apply_for(history, "江西赣江新材料科技有限公司", "m2-srdi-sme-province", 60_000_00)
    act(history, app_id, "district-xihu", "approve")
    after = _verify(history)
    assert after.ok and after.checked > before.checked


def _hash(services: Services, seq: int) -> str:
    with services.db.connect() as conn:
        return str(conn.execute(text(f"SELECT hash FROM audit_event WHERE seq = {seq}")).scalar_one())


def _since(services: Services, seq: int, known: str) -> audit.ChainReport:
    with services.uow() as uow:
        return audit.verify(uow.session, since=(seq, known))


ALTERED = "its content does not match its hash (altered)"


def test_each_break_is_reported_with_the_events_checked_before_it(history: Services) -> None:
    """What `smeflow audit verify` and /audit print: how many events were intact, where it broke, why."""
    total = _verify(history).checked
    k = total // 2
    assert _verify(history) == audit.ChainReport(True, total)
    _sql(history, f"UPDATE audit_event SET prev_hash = '{'0' * 64}' WHERE seq = {k}")
    assert _verify(history) == audit.ChainReport(False, k - 1, k, "its link to the previous event does not match")
    _sql(history, f"DELETE FROM audit_event WHERE seq = {k}")
    assert _verify(history) == audit.ChainReport(False, k - 1, k, f"event {k} is missing")


def test_removing_the_last_events_is_reported_after_the_intact_ones(history: Services) -> None:
    total = _verify(history).checked
    _sql(history, f"DELETE FROM audit_event WHERE seq >= {total - 1}")
    assert _verify(history) == audit.ChainReport(False, total - 2, total - 1,
                                                 "events after the last one found were removed")


def test_a_walk_from_a_known_intact_event_checks_it_again_and_every_event_after_it(history: Services) -> None:
    """The /audit pages walk only the events after the last full walk (`since`): that event's content
    and hash are checked again, and every later event as in a full walk."""
    total = _verify(history).checked
    k = total // 2
    known = _hash(history, k)
    assert _since(history, k, known) == audit.ChainReport(True, total)
    assert _since(history, 0, audit.GENESIS) == audit.ChainReport(True, total)  # no walk yet: the whole chain
    other = ("f" if known[0] != "f" else "e") + known[1:]
    assert _since(history, k, other) == audit.ChainReport(False, k - 1, k, ALTERED)  # not the hash that walk saw

    with history.db.connect() as conn:
        actor = conn.execute(text(f"SELECT actor FROM audit_event WHERE seq = {k}")).scalar_one()
    _sql(history, f"UPDATE audit_event SET actor = 'mallory' WHERE seq = {k}")  # the known event altered
    assert _since(history, k, known) == audit.ChainReport(False, k - 1, k, ALTERED)
    _sql(history, f"UPDATE audit_event SET actor = '{actor}' WHERE seq = {k}")
    _sql(history, f"UPDATE audit_event SET actor = 'mallory' WHERE seq = {k + 2}")  # a later one altered
    assert _since(history, k, known) == audit.ChainReport(False, k + 1, k + 2, ALTERED)
    _sql(history, f"DELETE FROM audit_event WHERE seq >= {k + 2}")  # the later ones removed
    assert _since(history, k, known) == audit.ChainReport(False, k + 1, k + 2,
                                                          "events after the last one found were removed")
    _sql(history, f"DELETE FROM audit_event WHERE seq = {k}")  # the known event removed
    assert _since(history, k, known) == audit.ChainReport(False, k - 1, k, f"event {k} is missing")
