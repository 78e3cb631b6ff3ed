"""Award cases through the service layer on a real database: every path, and bad input that
leaves the database exactly as it was."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from services.awards import applications, calls, enterprises
from services.awards.demo import ENTERPRISES, Demo
from services.bootstrap import Services
from services.db.models import Call, Enterprise, Fund, Honour, Payout, WorkItem
from services.errors import Conflict, InsufficientFunds, InvalidInput, NotFound
from tests.helpers import act, application, apply_for, clock, open_item, pass_public_notice, snapshot, today

A = ENTERPRISES[0][1]  # national little giant, 东湖区
B = ENTERPRISES[1][1]  # province 专精特新, 西湖区
F = ENTERPRISES[5][1]  # national base, 红谷滩区 (measure 9: on-site check)
LITTLE_GIANT = "m2-little-giant-national"
SRDI_PROVINCE = "m2-srdi-sme-province"


@pytest.fixture
def world(services: Services) -> Services:
    Demo(services, echo=False).load()
    return services


def test_straight_to_payout(world: Services) -> None:
    app_id = apply_for(world, A, LITTLE_GIANT, 300_000_00)
    item = open_item(world, app_id)
    assert (item.task_spec, item.role, item.review_unit_code) == ("district_check", "district", "donghu")
    assert item.due_at is not None and item.due_at > world.clock.now()
    act(world, app_id, "district-donghu", "approve")
    act(world, app_id, "bureau", "approve", amount_fen=250_000_00)
    assert application(world, app_id).stage == "public_notice"
    report = pass_public_notice(world)
    assert (app_id, "public_notice_period") in report.fired
    act(world, app_id, "finance", "pay", reference="PAY-1")
    app = application(world, app_id)
    assert (app.status, app.stage, app.awarded_fen) == ("paid", "end_paid", 250_000_00)
    with world.uow() as uow:
        payout = uow.session.scalars(select(Payout)).one()
        fund = uow.session.scalars(select(Fund)).one()
        assert (payout.amount_fen, fund.paid_fen) == (250_000_00, 250_000_00)
        items = uow.session.scalars(select(WorkItem).where(WorkItem.application_id == app_id)).all()
        assert [i.completed_by for i in items] == ["district-donghu", "bureau", "system", "finance"]


def test_return_and_resubmit(world: Services) -> None:
    app_id = apply_for(world, B, SRDI_PROVINCE, 60_000_00)
    act(world, app_id, "district-xihu", "return", reason="缺少认定文件")
    item = open_item(world, app_id)
    assert (item.task_spec, item.role) == ("correct_application", "applicant")
    act(world, app_id, "applicant-b", "resubmit")
    assert open_item(world, app_id).task_spec == "district_check"


def test_rejections_end_the_case(world: Services) -> None:
    a = apply_for(world, A, LITTLE_GIANT, 300_000_00)
    b = apply_for(world, B, SRDI_PROVINCE, 60_000_00)
    act(world, a, "district-donghu", "reject", reason="失信")
    act(world, b, "district-xihu", "approve")
    act(world, b, "bureau", "reject", reason="材料不实")
    assert (application(world, a).status, application(world, a).stage) == ("rejected", "end_rejected_district")
    assert (application(world, b).status, application(world, b).stage) == ("rejected", "end_rejected_bureau")


def test_objection_returns_to_bureau_and_amount_is_decided_again(world: Services) -> None:
    app_id = apply_for(world, A, LITTLE_GIANT, 300_000_00)
    act(world, app_id, "district-donghu", "approve")
    act(world, app_id, "bureau", "approve", amount_fen=300_000_00)
    act(world, app_id, "bureau", "objection", reason="实名异议")
    assert open_item(world, app_id).task_spec == "bureau_review"
    assert application(world, app_id).awarded_fen is None
    act(world, app_id, "bureau", "approve", amount_fen=200_000_00)
    pass_public_notice(world)
    act(world, app_id, "finance", "pay", reference="P")
    assert application(world, app_id).status == "paid"


def test_base_route_has_an_onsite_check(world: Services) -> None:
    app_id = apply_for(world, F, "m9-innovation-base-national", 300_000_00)
    act(world, app_id, "district-honggutan", "approve")
    assert open_item(world, app_id).task_spec == "onsite_check"


def test_payout_refused_for_lack_of_funds_changes_nothing(world: Services) -> None:
    with world.uow() as uow:
        uow.session.scalars(select(Fund)).one().budget_fen = 100_000_00
        uow.commit()
    app_id = apply_for(world, A, LITTLE_GIANT, 300_000_00)
    act(world, app_id, "district-donghu", "approve")
    act(world, app_id, "bureau", "approve", amount_fen=150_000_00)
    pass_public_notice(world)
    before = snapshot(world)
    with pytest.raises(InsufficientFunds, match="资金不足"):
        act(world, app_id, "finance", "pay", reference="P")
    assert snapshot(world) == before
    assert open_item(world, app_id).task_spec == "finance_payout"


# -- bad input: a clear error, and the database as it was ---------------------------------
def _assert_unchanged(world: Services, exc: type[Exception], match: str, fn) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(world)
    with pytest.raises(exc, match=match):
        fn()
    assert snapshot(world) == before


def test_invalid_credit_code(world: Services) -> None:
    def go() -> None:
        with world.uow() as uow:
            enterprises.register(uow.session, uscc="91360100MA35L0000X", name="x", review_unit_code="donghu",
                                 email=None, actor="t", now=world.clock.now(), today=today(world))
    _assert_unchanged(world, InvalidInput, "uscc", go)


def test_honour_outside_coverage(world: Services) -> None:
    with world.uow() as uow:
        ent = uow.session.scalars(select(Enterprise).where(Enterprise.name == A)).one()
        uow.session.scalars(select(Honour).where(Honour.enterprise_id == ent.id)).one().recognised_on = date(
            2020, 12, 31)
        uow.commit()
    _assert_unchanged(world, InvalidInput, "honour_id.*2020-12-31",
                      lambda: apply_for(world, A, LITTLE_GIANT, 300_000_00))


def test_call_closed(world: Services) -> None:
    clock(world).advance(timedelta(days=40))
    _assert_unchanged(world, InvalidInput, "call_id.*逾期不予受理",
                      lambda: apply_for(world, A, LITTLE_GIANT, 300_000_00))


def test_duplicate_application(world: Services) -> None:
    apply_for(world, A, LITTLE_GIANT, 300_000_00)
    _assert_unchanged(world, Conflict, "只能申报一次", lambda: apply_for(world, A, LITTLE_GIANT, 300_000_00))


def test_amount_over_cap_at_application_and_at_review(world: Services) -> None:
    _assert_unchanged(world, InvalidInput, "amount.*超过上限",
                      lambda: apply_for(world, A, LITTLE_GIANT, 300_000_01))
    app_id = apply_for(world, A, LITTLE_GIANT, 300_000_00)
    act(world, app_id, "district-donghu", "approve")
    _assert_unchanged(world, InvalidInput, "amount.*超过上限",
                      lambda: act(world, app_id, "bureau", "approve", amount_fen=300_000_01))


def test_wrong_role_or_unit_cannot_decide(world: Services) -> None:
    app_id = apply_for(world, A, LITTLE_GIANT, 300_000_00)  # 东湖区
    _assert_unchanged(world, NotFound, "不存在", lambda: act(world, app_id, "district-xihu", "approve"))
    _assert_unchanged(world, NotFound, "不存在", lambda: act(world, app_id, "bureau", "approve"))
    _assert_unchanged(world, NotFound, "不存在", lambda: act(world, app_id, "applicant-a", "approve"))


def test_wrong_decision_and_missing_reason(world: Services) -> None:
    app_id = apply_for(world, A, LITTLE_GIANT, 300_000_00)
    _assert_unchanged(world, InvalidInput, "decision", lambda: act(world, app_id, "district-donghu", "pay"))
    _assert_unchanged(world, InvalidInput, "reason", lambda: act(world, app_id, "district-donghu", "reject"))


def test_completing_a_completed_item_is_a_conflict(world: Services) -> None:
    app_id = apply_for(world, A, LITTLE_GIANT, 300_000_00)
    item = open_item(world, app_id)
    act(world, app_id, "district-donghu", "approve", item_id=item.id)
    _assert_unchanged(world, Conflict, "已由 东湖区经办人 办理",
                      lambda: act(world, app_id, "district-donghu", "approve", item_id=item.id))


def test_call_window_must_lie_in_the_edition(world: Services) -> None:
    def go() -> None:
        with world.uow() as uow:
            calls.open_call(uow.session, edition=world.editions[0], title="late", opens_on=date(2025, 8, 1),
                            closes_on=date(2025, 12, 1), award_types=[LITTLE_GIANT], fund_code="sme-2024",
                            actor="bureau", now=world.clock.now())
    _assert_unchanged(world, InvalidInput, "opens_on", go)


def test_highest_only_setting_refuses_a_second_award_of_the_same_measure(world: Services) -> None:
    with world.uow() as uow:
        ent = uow.session.scalars(select(Enterprise).where(Enterprise.name == A)).one()
        enterprises.add_honour(uow.session, enterprise_id=ent.id, honour_type="srdi_sme", level="province",
                               recognised_on=date(2022, 1, 5), document_no="X", issuer=None,
                               editions=world.editions, actor="t", now=world.clock.now())
        uow.commit()
    apply_for(world, A, LITTLE_GIANT, 300_000_00)
    with world.uow() as uow:
        honour = uow.session.scalars(select(Honour).where(Honour.document_no == "X")).one()
        call = uow.session.scalars(select(Call)).one()
        with pytest.raises(Conflict, match="就高不重复"):
            applications.apply(uow, world, call_id=call.id, enterprise_id=honour.enterprise_id,
                               award_type_code=SRDI_PROVINCE, honour_id=honour.id, requested_fen=1,
                               description="", actor="t", now=world.clock.now(), today=today(world))


def test_segregation_of_duties(world: Services) -> None:
    from services.errors import Forbidden

    app_id = apply_for(world, F, "m9-innovation-base-national", 300_000_00)
    act(world, app_id, "district-honggutan", "approve")
    _assert_unchanged(world, Forbidden, "职责分离", lambda: act(world, app_id, "district-honggutan", "approve"))
    act(world, app_id, "onsite-honggutan", "approve")
    assert open_item(world, app_id).task_spec == "bureau_review"
