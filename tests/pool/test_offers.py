"""免申即享 end to end through the services: an imported list makes offers in the open call, the
enterprise confirms, the case runs the usual route to payout; an offer lapses by its timer after a
reminder; an enterprise without an account gets a claim code and declines; 就高不重复 under both settings."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from services.accounts import users
from services.awards import tasks
from services.awards.deadlines import sweep
from services.awards.demo import demo_uscc
from services.bootstrap import Services
from services.db.models import Application, Honour, OutboxMail, Payout, ProcessInstance, User, WorkItem
from services.db.models_pool import Offer
from services.errors import InvalidInput
from services.pool import offer_views, responses
from services.time.clock import ManualClock
from tests.pool.conftest import run_import
from tests.pool.lists import code, csv_file

NEW = code("360111", 31)  # 青山湖区, no account
LIST = [
    [
        demo_uscc(1),
        "南昌精工智能装备有限公司",
        "专精特新“小巨人”企业",
        "国家级",
        "工信测字〔2024〕1号",
        "2024-01-10",
        "",
    ],
    [NEW, "南昌测试青山湖科技有限公司", "“专精特新”中小企业", "江西省", "赣工信测字〔2023〕31号", "2023-09-01", ""],
    [NEW, "南昌测试青山湖科技有限公司", "“专精特新”中小企业", "南昌市", "洪工信测字〔2023〕32号", "2023-03-01", ""],
]


def _user(services: Services, name: str) -> User:
    with services.uow() as uow:
        return users.get_user(uow.session, name)


def _offers(services: Services) -> dict[str, Offer]:
    with services.uow() as uow:
        rows = uow.session.execute(
            select(Offer, Application.review_unit_code).join(Application, Application.id == Offer.application_id)
        ).all()
        return {o.award_type_code: o for o, _ in rows}


def _item(services: Services, application_id: int) -> WorkItem:
    with services.uow() as uow:
        return uow.session.scalars(
            select(WorkItem).where(WorkItem.application_id == application_id, WorkItem.status == "open")
        ).one()


def _complete(services: Services, application_id: int, user: str, decision: tasks.Decision) -> None:
    with services.uow() as uow:
        tasks.complete(
            uow,
            services,
            item_id=_item(services, application_id).id,
            username=user,
            decision=decision,
            now=services.clock.now(),
        )
        uow.commit()


def _confirm(services: Services, who: str, offer_id: int, **extra: object) -> Application:
    args = {
        "bank_name": "中国银行南昌分行",
        "account_name": "南昌精工智能装备有限公司",
        "account_no": "6217000012345678",
        "accept_commitments": True,
        **extra,
    }
    with services.uow() as uow:
        app = responses.respond(
            uow,
            services,
            user=_user(services, who),
            offer_id=offer_id,
            decision="confirm",
            now=services.clock.now(),
            **args,
        )  # type: ignore[arg-type]
        uow.commit()
        return app


def test_an_offer_runs_from_confirmation_to_payout(world: Services) -> None:
    report = run_import(world, csv_file("offers", LIST))
    assert report.offers_made == 2
    offers = _offers(world)
    assert sorted(offers) == ["m2-little-giant-national", "m2-srdi-sme-province"]  # the highest of NEW's two honours
    giant = offers["m2-little-giant-national"]
    assert giant.cap_fen == 30_000_000
    assert _item(world, giant.application_id).task_spec == "confirm_offer"
    with world.uow() as uow:
        mails = uow.session.scalars(select(OutboxMail).where(OutboxMail.template == "offer_made")).all()
        assert [m.recipients for m in mails] == [["a@example.com"]]  # NEW has no address and no account
        assert "请于" in mails[0].text_body and "300,000.00 元" in mails[0].text_body
    with pytest.raises(InvalidInput) as refused:
        _confirm(world, "applicant-a", giant.id, accept_commitments=False)
    assert refused.value.field == "commitments"
    with pytest.raises(InvalidInput) as bad_no:
        _confirm(world, "applicant-a", giant.id, account_no="12-34")
    assert bad_no.value.field == "account_no"
    _confirm(world, "applicant-a", giant.id)
    assert _item(world, giant.application_id).task_spec == "district_check"
    _complete(world, giant.application_id, "district-donghu", tasks.Decision("approve"))
    _complete(world, giant.application_id, "bureau", tasks.Decision("approve", amount_fen=28_000_000))
    assert isinstance(world.clock, ManualClock)
    world.clock.advance(timedelta(days=12))
    sweep(world, world.clock.now())
    _complete(world, giant.application_id, "finance", tasks.Decision("pay", payment_reference="PAY-OFFER-1"))
    bureau = _user(world, "bureau")
    with world.uow() as uow:
        app = uow.session.get_one(Application, giant.application_id)
        assert (app.status, app.awarded_fen) == ("paid", 28_000_000)
        assert uow.session.scalars(select(Payout.amount_fen).where(Payout.application_id == app.id)).one() == 28_000_000
        figures = offer_views.figures(uow.session, bureau)
    assert [(f.unit_code, f.made, f.open, f.confirmed) for f in figures] == [
        ("donghu", 1, 0, 1),
        ("qingshanhu", 1, 1, 0),
    ]
    second_giant = [*LIST[0][:4], "工信测字〔2024〕9号", "2024-02-01", ""]
    again = run_import(world, csv_file("offers-again", [*LIST, second_giant]))
    assert again.offers_made == 0  # one offer per call, enterprise and measure


def test_an_unconfirmed_offer_is_reminded_then_lapses_by_its_timer(world: Services) -> None:
    run_import(world, csv_file("offers-lapse", LIST[:1]))
    offer = _offers(world)["m2-little-giant-national"]
    due = _item(world, offer.application_id).due_at
    assert due is not None
    assert isinstance(world.clock, ManualClock)
    assert offer_views.remind(world, world.clock.now()) == 0  # 15 working days ahead: too early
    world.clock.set(due - timedelta(days=2))
    assert offer_views.remind(world, world.clock.now()) == 1
    assert offer_views.remind(world, world.clock.now()) == 0  # once
    world.clock.set(due + timedelta(minutes=1))
    sweep(world, world.clock.now())
    with world.uow() as uow:
        app = uow.session.get_one(Application, offer.application_id)
        assert (app.status, app.stage_name) == ("lapsed", "逾期未确认")
        templates = uow.session.scalars(select(OutboxMail.template).order_by(OutboxMail.id)).all()
    assert templates == ["offer_made", "offer_reminder"]
    with pytest.raises(Exception, match="已失效"):
        _confirm(world, "applicant-a", offer.id)


def test_an_enterprise_without_account_claims_its_offer_and_declines(world: Services) -> None:
    run_import(world, csv_file("offers-claim", LIST[1:]))
    offer = _offers(world)["m2-srdi-sme-province"]
    bureau = _user(world, "bureau")
    with world.uow() as uow:
        listed = offer_views.unit_offers(uow.session, bureau)
        assert [(v.enterprise_name, v.has_account) for v in listed] == [("南昌测试青山湖科技有限公司", False)]
        code_text = responses.issue_claim_code(uow, user=bureau, offer_id=offer.id, now=world.clock.now())
        uow.commit()
    with world.uow() as uow:
        stored = uow.session.get_one(Offer, offer.id).claim_code_sha256
        assert stored and code_text.replace("-", "") not in stored
        newcomer = users.create_user(
            uow.session,
            hasher=world.password_hasher,
            username="new-applicant",
            display_name="新用户",
            role="applicant",
            password="claim-test-pw",
            allow_unbound=True,
        )
        uow.commit()
    with world.uow() as uow:
        ent = responses.claim(uow, user=newcomer, code=code_text, now=world.clock.now())
        uow.commit()
    assert ent.uscc == NEW
    with world.uow() as uow, pytest.raises(InvalidInput, match="无效或已使用"):
        other = users.create_user(
            uow.session,
            hasher=world.password_hasher,
            username="second",
            display_name="二",
            role="applicant",
            password="claim-test-pw",
            allow_unbound=True,
        )
        responses.claim(uow, user=other, code=code_text, now=world.clock.now())
    newcomer = _user(world, "new-applicant")
    with world.uow() as uow:
        responses.respond(uow, world, user=newcomer, offer_id=offer.id, decision="decline", now=world.clock.now())
        uow.commit()
        assert uow.session.get_one(Application, offer.application_id).status == "declined"


def _pay_city_award_to_c(world: Services) -> int:
    """Enterprise c (demo) applies for the city 专精特新 award (50,000 yuan cap) and is paid 50,000."""
    from services.awards import applications

    with world.uow() as uow:
        ent_id = users.get_user(uow.session, "applicant-c").enterprise_id
        hid = uow.session.scalars(select(Honour.id).where(Honour.enterprise_id == ent_id)).one()
        app = applications.apply(
            uow,
            world,
            call_id=1,
            enterprise_id=ent_id,
            award_type_code="m2-srdi-sme-city",
            honour_id=hid,
            requested_fen=5_000_000,
            description="",
            actor="applicant-c",
            now=world.clock.now(),
            today=date(2024, 6, 3),
        )
        uow.commit()
    _complete(world, app.id, "district-donghu", tasks.Decision("approve"))
    _complete(world, app.id, "bureau", tasks.Decision("approve", amount_fen=5_000_000))
    assert isinstance(world.clock, ManualClock)
    world.clock.advance(timedelta(days=12))
    sweep(world, world.clock.now())
    _complete(world, app.id, "finance", tasks.Decision("pay", payment_reference="PAY-CITY-1"))
    return app.id


C_PROVINCE = [
    [demo_uscc(3), "南昌洪城食品有限公司", "“专精特新”中小企业", "江西省", "赣工信测字〔2024〕33号", "2024-01-20", ""]
]


def test_highest_only_after_a_lower_award_was_paid_pays_the_difference(world: Services) -> None:
    world.settings.higher_award_after_lower_paid = "difference"
    _pay_city_award_to_c(world)
    report = run_import(world, csv_file("offers-difference", C_PROVINCE))
    assert report.offers_made == 1
    offer = _offers(world)["m2-srdi-sme-province"]
    assert offer.cap_fen == 1_000_000  # 60,000 less the 50,000 paid: 10,000 yuan
    with world.uow() as uow:
        instance_id = uow.session.get_one(Application, offer.application_id).instance_id
        data = world.runtime.case_data(uow.session.get_one(ProcessInstance, instance_id))
    assert data["cap_fen"] == 1_000_000
    _confirm(world, "applicant-c", offer.id, account_name="南昌洪城食品有限公司")
    _complete(world, offer.application_id, "district-donghu", tasks.Decision("approve"))
    with pytest.raises(InvalidInput, match=r"超过上限 10,000\.00 元"):
        _complete(world, offer.application_id, "bureau", tasks.Decision("approve", amount_fen=6_000_000))


def test_highest_only_after_a_lower_award_was_paid_pays_nothing_more(world: Services) -> None:
    world.settings.higher_award_after_lower_paid = "none"
    _pay_city_award_to_c(world)
    report = run_import(world, csv_file("offers-none", C_PROVINCE))
    assert report.offers_made == 0 and report.created == 1
    from services.awards.claims import claimable

    c_id = _user(world, "applicant-c").enterprise_id or 0
    with world.uow() as uow:
        calls = claimable(uow.session, world, enterprise_id=c_id, today=date(2024, 6, 15))
    province = next(a for a in calls[0].awards if a.code == "m2-srdi-sme-province")
    assert not province.eligible and "不再奖励差额" in (province.reason or "")


def test_offers_written_in_slices_keep_one_transaction_and_the_chain(world: Services,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Bulk offers let go of the session's objects every OFFERS_PER_FLUSH offers: with a slice of one,
    each offer still gets its case, its mail and its audit event, and the chain verifies."""
    from services.audit.chain import verify
    from services.db.models import AuditEvent
    from services.pool import offers as offers_module

    monkeypatch.setattr(offers_module, "OFFERS_PER_FLUSH", 1)
    report = run_import(world, csv_file("offers-slices", LIST))
    assert report.offers_made == 2
    with world.uow() as uow:
        kinds = uow.session.scalars(select(AuditEvent.kind).where(AuditEvent.kind == "offer.make")).all()
        assert len(kinds) == 2
        assert len(uow.session.scalars(select(OutboxMail).where(OutboxMail.template == "offer_made")).all()) == 1
        assert verify(uow.session).ok
    assert sorted(_offers(world)) == ["m2-little-giant-national", "m2-srdi-sme-province"]
