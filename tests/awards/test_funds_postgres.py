"""Concurrent payouts drawing on two lines (PostgreSQL): a district's matching fund with room for four
parts; ten payouts race; four are paid, each line exactly charged, none overdrawn."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from services.accounts.users import get_user
from services.awards import enterprises, funds
from services.awards.demo import Demo, demo_uscc
from services.awards.tasks import Decision
from services.bootstrap import Services
from services.db.models import Fund, FundDraw, Payout
from services.errors import InsufficientFunds
from tests.conftest import requires_postgres
from tests.helpers import act, apply_for, open_item, pass_public_notice, today
from tests.integration.test_postgres_concurrency import _complete, _race

pytestmark = requires_postgres()


def test_ten_concurrent_payouts_against_a_matching_fund_for_four(services: Services) -> None:
    Demo(services, echo=False).load()  # the 2024 city line sme-2024: 600,000 yuan
    services.settings.district_matching_percent = 40
    amount = 50_000_00  # 30,000 yuan from the city, 20,000 from 东湖区
    with services.uow() as uow:
        funds.create(uow.session, user=get_user(uow.session, "bureau"), year=2024, line="donghu",
                     budget_fen=80_000_00, name=None, now=services.clock.now())
        for i in range(10):
            ent = enterprises.register(uow.session, uscc=demo_uscc(700 + i), name=f"配套并发测试企业{i}",
                                       review_unit_code="donghu", email=None, actor="t",
                                       now=services.clock.now(), today=today(services))
            enterprises.add_honour(uow.session, enterprise_id=ent.id, honour_type="srdi_sme", level="city",
                                   recognised_on=date(2023, 1, 1), document_no=f"P{i}", issuer=None,
                                   editions=services.editions, actor="t", now=services.clock.now())
        uow.commit()
    apps = [apply_for(services, f"配套并发测试企业{i}", "m2-srdi-sme-city", amount) for i in range(10)]
    for app_id in apps:
        act(services, app_id, "district-donghu", "approve")
        act(services, app_id, "bureau", "approve", amount_fen=amount)
    pass_public_notice(services)
    items = [open_item(services, a).id for a in apps]
    results = _race(services, [_complete(i, "finance", Decision("pay", payment_reference=f"M{i}")) for i in items])
    assert sum(r is None for r in results) == 4
    assert all(isinstance(r, InsufficientFunds) for r in results if r is not None)
    with services.uow() as uow:
        lines = {f.code: (f.budget_fen, f.paid_fen) for f in uow.session.scalars(select(Fund))}
        assert lines == {"sme-2024": (600_000_00, 120_000_00), "2024-donghu": (80_000_00, 80_000_00)}
        assert len(uow.session.scalars(select(Payout)).all()) == 4
        assert sorted(d.amount_fen for d in uow.session.scalars(select(FundDraw))) == [20_000_00] * 4 + [30_000_00] * 4
