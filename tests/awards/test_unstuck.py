"""Cases that used to get stuck: a short fund (finance defers or returns for review), segregation of
duties in a unit with one officer (the step goes to the unit head, or is flagged for the bureau), and the
amount the bureau may award against the request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from services.accounts import users
from services.awards import calls, eligibility, inbox
from services.awards.demo import ENTERPRISES, Demo
from services.bootstrap import Services
from services.dashboard import Filters, build
from services.db.models import Enterprise, Fund, User
from services.db.models_mail import OutboxMail
from services.errors import Forbidden, InsufficientFunds, InvalidInput
from tests.helpers import act, application, apply_for, open_item, pass_public_notice, snapshot

A = ENTERPRISES[0][1]  # national little giant, 东湖区
F = ENTERPRISES[5][1]  # national base, 红谷滩区 (measure 9: on-site check)
LITTLE_GIANT = "m2-little-giant-national"
BASE = "m9-innovation-base-national"


@pytest.fixture
def world(services: Services) -> Services:
    Demo(services, echo=False).load()
    return services


def _short_fund(world: Services, budget_fen: int) -> None:
    with world.uow() as uow:
        uow.session.scalars(select(Fund)).one().budget_fen = budget_fen
        uow.commit()


def _to_payout(world: Services, amount_fen: int) -> int:
    app_id = apply_for(world, A, LITTLE_GIANT, 300_000_00)
    act(world, app_id, "district-donghu", "approve")
    act(world, app_id, "bureau", "approve", amount_fen=amount_fen)
    pass_public_notice(world)
    return app_id


def test_a_short_fund_is_deferred_with_its_own_deadline_then_paid_after_a_top_up(world: Services) -> None:
    _short_fund(world, 100_000_00)
    app_id = _to_payout(world, 150_000_00)
    with pytest.raises(InsufficientFunds, match="暂缓拨付"):
        act(world, app_id, "finance", "pay", reference="P-1")
    with pytest.raises(InvalidInput, match="理由"):
        act(world, app_id, "finance", "defer")
    deferred_at = world.clock.now() + timedelta(hours=2)
    act(world, app_id, "finance", "defer", reason="专项资金余额不足，待追加预算")
    item = open_item(world, app_id)
    app = application(world, app_id)
    assert (item.task_spec, item.name, item.role) == ("finance_deferred", "暂缓拨付", "finance")
    assert (app.status, app.stage_name, app.awarded_fen) == ("running", "暂缓拨付", 150_000_00)
    assert item.due_at is not None and item.due_at - deferred_at > timedelta(days=26)  # 20 working days, not 10
    with world.uow() as uow:  # the bureau sees why on the dashboard
        bureau = uow.session.scalars(select(User).where(User.username == "bureau")).one()
        stuck = build(uow.session, world, user=bureau, filters=Filters(), now=world.clock.now()).stuck
        assert [(s.application_id, s.kind, s.reason) for s in stuck] == [
            (app_id, "deferred", "专项资金余额不足，待追加预算")]
        fund = uow.session.scalars(select(Fund)).one()
        calls.top_up_fund(uow.session, fund_id=fund.id, add_fen=50_000_00, reason="预算调整（测试）",
                          actor="admin", now=world.clock.now())
        uow.commit()
    act(world, app_id, "finance", "pay", reference="P-2")  # the same officer who deferred may pay
    app = application(world, app_id)
    assert (app.status, app.stage) == ("paid", "end_paid")
    with world.uow() as uow:
        fund = uow.session.scalars(select(Fund)).one()
        assert (fund.budget_fen, fund.paid_fen) == (150_000_00, 150_000_00)


def test_finance_returns_for_review_with_a_reason_and_the_amount_is_decided_again(world: Services) -> None:
    _short_fund(world, 100_000_00)
    app_id = _to_payout(world, 150_000_00)
    act(world, app_id, "finance", "return_review", reason="资金仅余 10 万元，请重新核定")
    item = open_item(world, app_id)
    assert item.task_spec == "bureau_review"
    assert application(world, app_id).awarded_fen is None
    with world.uow() as uow:
        bureau = uow.session.scalars(select(User).where(User.username == "bureau")).one()
        view = inbox.task_view(uow.session, world, bureau, item.id, now=world.clock.now())
        assert ("财政拨付", "return_review", "资金仅余 10 万元，请重新核定") in [
            (h.stage_name, h.decision, h.reason) for h in view.history]
    act(world, app_id, "bureau", "approve", amount_fen=100_000_00)
    pass_public_notice(world)
    act(world, app_id, "finance", "pay", reference="P-3")
    assert application(world, app_id).status == "paid"


def test_the_award_is_never_above_the_request(world: Services) -> None:
    app_id = apply_for(world, A, LITTLE_GIANT, 30_000_00)
    act(world, app_id, "district-donghu", "approve")
    before = snapshot(world)
    with pytest.raises(InvalidInput, match=r"超过申请金额 30,000\.00 元") as caught:
        act(world, app_id, "bureau", "approve", amount_fen=90_000_00)
    assert caught.value.field == "amount"
    assert snapshot(world) == before
    act(world, app_id, "bureau", "approve", amount_fen=30_000_00)
    assert application(world, app_id).awarded_fen == 30_000_00


def _move_to_xihu(world: Services, name: str) -> None:
    with world.uow() as uow:
        uow.session.scalars(select(Enterprise).where(Enterprise.name == name)).one().review_unit_code = "xihu"
        uow.commit()


def _add_head(world: Services, username: str, unit: str) -> None:
    with world.uow() as uow:
        users.create_user(uow.session, hasher=world.password_hasher, username=username, display_name="西湖区分管负责人",
                     role="district", password="long-enough-1", review_unit_code=unit,
                     email=f"{username}@example.test", unit_head=True)
        uow.commit()


def test_one_officer_district_sends_the_onsite_check_to_the_head(world: Services) -> None:
    _move_to_xihu(world, F)
    _add_head(world, "head-xihu", "xihu")
    app_id = apply_for(world, F, BASE, 300_000_00)
    act(world, app_id, "district-xihu", "approve")
    item = open_item(world, app_id)
    assert (item.task_spec, item.assignee) == ("onsite_check", "head-xihu")
    assert item.blocked_reason == "西湖区其他经办人已办理本案前一环节（职责分离），已转单位负责人 西湖区分管负责人 办理"
    with world.uow() as uow:
        officer = uow.session.scalars(select(User).where(User.username == "district-xihu")).one()
        rows = inbox.inbox_rows(uow.session, officer, now=world.clock.now())
        assert [(r.stage, r.blocked) for r in rows] == [
            ("onsite_check", "职责分离：您已办理本案“区县初审”环节，不能再办理此环节")]
        mail = uow.session.scalars(select(OutboxMail).where(OutboxMail.template == "task_blocked")).one()
        assert mail.recipients == ["head-xihu@example.test"]
    with pytest.raises(Forbidden, match="职责分离"):
        act(world, app_id, "district-xihu", "approve", item_id=item.id)
    act(world, app_id, "head-xihu", "approve")
    assert open_item(world, app_id).task_spec == "bureau_review"


def test_a_step_no_one_of_the_unit_may_take_is_shown_to_the_bureau(world: Services) -> None:
    _move_to_xihu(world, F)
    app_id = apply_for(world, F, BASE, 300_000_00)
    act(world, app_id, "district-xihu", "approve")
    item = open_item(world, app_id)
    assert item.assignee is None and item.blocked_reason is not None
    assert item.blocked_reason.startswith("西湖区没有可办理此环节的人员")
    with world.uow() as uow:
        for username in ("bureau", "admin"):
            viewer = uow.session.scalars(select(User).where(User.username == username)).one()
            stuck = build(uow.session, world, user=viewer, filters=Filters(), now=world.clock.now()).stuck
            assert [(s.application_id, s.kind, s.stage_name) for s in stuck] == [(app_id, "nobody", "现场核查")]
        assert uow.session.scalars(select(OutboxMail).where(OutboxMail.template == "task_blocked")).one()
    # the admin names a head; the head (eligible: did not decide this case) can take it
    _add_head(world, "head-xihu", "xihu")
    act(world, app_id, "head-xihu", "approve")
    assert open_item(world, app_id).task_spec == "bureau_review"


def test_a_unit_with_two_officers_is_not_escalated(world: Services) -> None:
    app_id = apply_for(world, F, BASE, 300_000_00)
    act(world, app_id, "district-honggutan", "approve")
    item = open_item(world, app_id)
    assert (item.assignee, item.blocked_reason) == (None, None)
    with world.uow() as uow:
        assert eligibility.blocked_for(uow.session, "onsite-honggutan", [(item.id, app_id, item.task_spec)]) == {}
