"""A loaded edition is seen at once by the services (no restart), a correction is a new revision,
and a case keeps the revision it started under."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from config.settings import Settings
from services.awards import applications, calls, enterprises
from services.awards.demo import Demo
from services.bootstrap import Services, build
from services.db.models import Application, Enterprise, Honour
from services.errors import InvalidInput
from services.policy import store
from services.time.clock import ManualClock
from tests.helpers import act, clock
from tests.policy.editions import TEST_CODE, successor_text

SHANGHAI = ZoneInfo("Asia/Shanghai")
AWARD = "test-2026-m2-little-giant-national"


def load(services: Services, text: str, name: str = "successor.toml") -> store.Loaded:
    with services.uow() as uow:
        loaded = store.load(uow.session, text.encode(), name, actor="admin", now=services.clock.now())
        uow.commit()
    services.edition_cache.invalidate()
    return loaded


def test_another_process_sees_a_new_edition_without_restart(services: Services) -> None:
    other = build(Settings(database_url=services.settings.database_url, environment="test",
                           data_dir=services.settings.data_dir, editions_recheck_seconds=0),
                  clock=ManualClock(services.clock.now()))
    assert [e.code for e in other.editions] == ["2022-109"]
    load(services, successor_text())
    assert [e.code for e in other.editions] == ["2022-109", TEST_CODE]  # the next read, same process object
    edition = other.editions[1]
    assert (edition.revision, edition.award(AWARD).cap_fen) == (1, 30_000_000)
    other.db.dispose()


def test_state_by_date() -> None:
    from config.policy import parse_edition_text
    from tests.policy.editions import PACKAGED

    edition = parse_edition_text(PACKAGED.read_text(encoding="utf-8"), "2022-109.toml")
    assert store.state(edition, date(2022, 8, 31)) == "draft"
    assert store.state(edition, date(2022, 9, 1)) == "in_force"
    assert store.state(edition, date(2025, 9, 1)) == "in_force"  # 有效期至 is inclusive
    assert store.state(edition, date(2025, 9, 2)) == "expired"


def _apply(services: Services, enterprise_name: str, requested_fen: int) -> int:
    with services.uow() as uow:
        s = uow.session
        ent = s.scalars(select(Enterprise).where(Enterprise.name == enterprise_name)).one()
        honour = s.scalars(select(Honour).where(Honour.enterprise_id == ent.id,
                                                Honour.honour_type == "little_giant")).one()
        call = calls.open_call(s, edition=next(e for e in services.editions if e.code == TEST_CODE),
                               title="测试批次（测试数据）", opens_on=date(2026, 3, 1), closes_on=date(2026, 3, 31),
                               award_types=[AWARD], fund_code="test-2026", actor="bureau", now=services.clock.now()) \
            if not s.scalars(select(Application)).first() else None
        call_id = call.id if call else s.scalars(select(Application.call_id)).first()
        app = applications.apply(uow, services, call_id=call_id or 0, enterprise_id=ent.id, award_type_code=AWARD,
                                 honour_id=honour.id, requested_fen=requested_fen, description="测试",
                                 actor="test", now=services.clock.now(), today=date(2026, 3, 2))
        uow.commit()
        return app.id


def test_a_case_keeps_the_revision_it_started_under(services: Services) -> None:
    Demo(services, echo=False).load()
    first = load(services, successor_text())
    clock(services).set(datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI))
    with services.uow() as uow:
        calls.create_fund(uow.session, code="test-2026", name="测试资金", year=2026, budget_fen=100_000_000,
                          actor="admin", now=services.clock.now())
        uow.commit()
    running = _apply(services, "南昌精工智能装备有限公司", 30_000_000)
    act(services, running, "district-donghu", "approve")

    # a correction: the cap of the national little giant award lowered to 20万元 (test data)
    corrected = successor_text().replace(
        "cap_fen = 30_000_000  # 30万元\nroute = \"award_enterprise_honour\"\n"
        "clause = \"对获评国家专精特新“小巨人”企业的，给予一次性最高不超过30万元奖励\"",
        "cap_fen = 20_000_000\nroute = \"award_enterprise_honour\"\n"
        "clause = \"对获评国家专精特新“小巨人”企业的，给予一次性最高不超过20万元奖励\"")
    second = load(services, corrected, "successor-fix.toml")
    assert (first.edition.revision, second.edition.revision) == (1, 2)
    assert second.edition.award(AWARD).cap_fen == 20_000_000
    assert next(e for e in services.editions if e.code == TEST_CODE).revision == 2

    act(services, running, "bureau", "approve", amount_fen=30_000_000)  # its own revision's cap: 30万元
    with services.uow() as uow:
        app = uow.session.get_one(Application, running)
        assert (app.awarded_fen, app.policy_revision_id) == (30_000_000, first.edition.revision_id)
    with services.uow() as uow:
        ent = uow.session.scalars(select(Enterprise).where(Enterprise.name == "江西赣江新材料科技有限公司")).one()
        enterprises.add_honour(uow.session, enterprise_id=ent.id, honour_type="little_giant", level="national",
                               recognised_on=date(2025, 10, 1), document_no="测试文号（测试数据）", issuer=None,
                               editions=services.editions, actor="admin", now=services.clock.now())
        uow.commit()
    with pytest.raises(InvalidInput, match=r"超过上限 200,000\.00 元"):
        _apply(services, "江西赣江新材料科技有限公司", 30_000_000)  # a new case runs under revision 2
