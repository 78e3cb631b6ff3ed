"""Budget lines: the city's fund and a district's matching fund, created and adjusted by the bureau
(a reason, an audit event); a payout draws each line's part and never more than any line holds."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from services.accounts.users import get_user
from services.awards import funds
from services.awards.demo import Demo
from services.bootstrap import Services
from services.dashboard import fund_figures
from services.db.models import AuditEvent, Fund, FundDraw
from services.errors import Conflict, Forbidden, InsufficientFunds, InvalidInput
from tests.helpers import act, application, apply_for, pass_public_notice, snapshot

A = "南昌精工智能装备有限公司"  # 东湖区
LITTLE_GIANT = "m2-little-giant-national"


@pytest.fixture
def world(services: Services) -> Services:
    Demo(services, echo=False).load()  # the 2024 city fund sme-2024: 600,000 yuan
    services.settings.district_matching_percent = 30
    return services


def create(world: Services, username: str, line: str, budget_fen: int, year: int = 2024) -> Fund:
    with world.uow() as uow:
        fund = funds.create(uow.session, user=get_user(uow.session, username), year=year, line=line,
                            budget_fen=budget_fen, name=None, now=world.clock.now())
        uow.commit()
        return fund


def adjust(world: Services, code: str, reason: str, **amount: int) -> Fund:
    with world.uow() as uow:
        fund = funds.adjust(uow.session, user=get_user(uow.session, "bureau"), code=code, reason=reason,
                            now=world.clock.now(), **amount)
        uow.commit()
        return fund


def lines(world: Services) -> dict[str, tuple[int, int, int]]:
    with world.uow() as uow:
        return {f.code: (f.budget_fen, f.committed_fen, f.paid_fen)
                for f in fund_figures(uow.session, district_percent=world.settings.district_matching_percent)}


def test_split_is_exact() -> None:
    assert funds.split(30_000_000, 30) == (21_000_000, 9_000_000)
    assert funds.split(30_000_001, 30) == (21_000_001, 9_000_000)
    assert funds.split(5, 50) == (2, 3)  # half a fen rounds up on the district's side
    assert funds.split(12_345, 0) == (12_345, 0)
    assert funds.split(12_345, 100) == (0, 12_345)


def test_payout_draws_on_both_lines_never_beyond_either(world: Services) -> None:
    create(world, "bureau", "donghu", 50_000_00)  # 东湖区配套资金 2024: 50,000 yuan
    app_id = apply_for(world, A, LITTLE_GIANT, 300_000_00)
    act(world, app_id, "district-donghu", "approve")
    act(world, app_id, "bureau", "approve", amount_fen=300_000_00)
    assert lines(world) == {"sme-2024": (600_000_00, 210_000_00, 0), "2024-donghu": (50_000_00, 90_000_00, 0)}
    pass_public_notice(world)

    before = snapshot(world)
    with pytest.raises(InsufficientFunds, match=r"东湖区配套资金 余额 50,000\.00 元，本次应由其拨付 90,000\.00 元"):
        act(world, app_id, "finance", "pay", reference="P-1")
    assert snapshot(world) == before  # the city's part was not charged either

    adjust(world, "2024-donghu", "区财政追加配套资金", by_fen=40_000_00)
    act(world, app_id, "finance", "pay", reference="P-1")
    assert application(world, app_id).status == "paid"
    assert lines(world) == {"sme-2024": (600_000_00, 0, 210_000_00), "2024-donghu": (90_000_00, 0, 90_000_00)}
    with world.uow() as uow:
        draws = sorted((d.fund_id, d.amount_fen) for d in uow.session.scalars(select(FundDraw)))
        ids = {f.code: f.id for f in uow.session.scalars(select(Fund))}
    assert draws == sorted([(ids["sme-2024"], 210_000_00), (ids["2024-donghu"], 90_000_00)])
    with world.uow() as uow:  # the audit record names both lines and their parts
        event = uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == "payout")).one()
        payout_id = uow.session.scalars(select(FundDraw.payout_id)).first()
    assert (event.application_id, orjson.loads(event.payload)) == (app_id, {
        "payout": payout_id, "fund": ids["sme-2024"], "amount_fen": 300_000_00, "reference": "P-1",
        "draws": [["sme-2024", 210_000_00], ["2024-donghu", 90_000_00]]})


def test_no_district_line_means_no_payout(world: Services) -> None:
    app_id = apply_for(world, A, LITTLE_GIANT, 300_000_00)
    act(world, app_id, "district-donghu", "approve")
    act(world, app_id, "bureau", "approve", amount_fen=100_000_00)
    pass_public_notice(world)
    with pytest.raises(InsufficientFunds, match=r"2024 年东湖区配套资金未建立，其应拨付的 30,000\.00 元无从列支"):
        act(world, app_id, "finance", "pay", reference="P-2")


def test_adjustments_need_a_reason_and_are_audited(world: Services) -> None:
    create(world, "bureau", "donghu", 50_000_00)
    with pytest.raises(InvalidInput, match="reason"):
        adjust(world, "2024-donghu", "  ", to_fen=60_000_00)
    with pytest.raises(InvalidInput, match="二选一"):
        adjust(world, "2024-donghu", "x", to_fen=1, by_fen=1)
    with pytest.raises(InvalidInput, match="不接受浮点数"):
        adjust(world, "2024-donghu", "x", to_fen=6.5)  # type: ignore[arg-type]
    fund = adjust(world, "2024-donghu", "年中预算调整", to_fen=70_000_00)
    assert fund.budget_fen == 70_000_00
    with world.uow() as uow:
        event = uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == "fund.adjust")).one()
    assert event.actor == "bureau" and "年中预算调整" in event.payload and "5000000" in event.payload


def test_a_budget_never_drops_below_what_was_paid(world: Services) -> None:
    app_id = apply_for(world, A, LITTLE_GIANT, 300_000_00)
    world.settings.district_matching_percent = 0
    act(world, app_id, "district-donghu", "approve")
    act(world, app_id, "bureau", "approve", amount_fen=250_000_00)
    pass_public_notice(world)
    act(world, app_id, "finance", "pay", reference="P-3")
    with pytest.raises(InvalidInput, match=r"低于已拨付的 250,000\.00 元"):
        adjust(world, "sme-2024", "削减", by_fen=-400_000_00)
    assert adjust(world, "sme-2024", "削减", to_fen=250_000_00).budget_fen == 250_000_00


def test_who_may_create_and_duplicates(world: Services) -> None:
    with pytest.raises(Forbidden):
        create(world, "finance", "xihu", 1)
    with pytest.raises(Conflict, match="已建立"):
        create(world, "bureau", "city", 1)  # 2024's city line is the demo's sme-2024
    with pytest.raises(InvalidInput, match="line"):
        create(world, "admin", "atlantis", 1)
    assert create(world, "admin", "city", 1_000_000_00, year=2025).name == "2025年市级中小企业发展专项资金"
