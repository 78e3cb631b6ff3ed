"""The payout itself refuses an amount the bureau never decided (none, or zero fen) and a blank
payment reference, naming the field; the smallest amount, one fen, is paid to the fen.

These guards sit behind the route (finance only reaches the payout after the bureau set an amount),
so the tests call the payout service directly, as a bug or a changed route would. Kills `make
mutants` survivors in services/awards/payouts.py: `amount is None or amount <= 0` turned into
`and`, `< 0` or `<= 1`; a single-line payout's audit record given the parts (`draws`) only a
two-line payout has. Equivalent: the default `district_percent=0` turned into 1 (its only caller,
services/awards/tasks.py, always passes the setting).
"""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from services.awards.demo import Demo
from services.awards.payouts import pay
from services.bootstrap import Services
from services.db.models import Application, AuditEvent, Call, Fund, Payout
from services.errors import InvalidInput
from tests.helpers import act, apply_for, open_item, pass_public_notice

A = "南昌精工智能装备有限公司"


@pytest.fixture
def at_payout(services: Services) -> tuple[Services, int]:
    """One case waiting at finance's payout, 150,000.00 yuan decided by the bureau."""
    Demo(services, echo=False).load()
    app_id = apply_for(services, A, "m2-little-giant-national", 300_000_00)
    act(services, app_id, "district-donghu", "approve")
    act(services, app_id, "bureau", "approve", amount_fen=150_000_00)
    pass_public_notice(services)
    assert open_item(services, app_id).task_spec == "finance_payout"
    return services, app_id


def _pay(services: Services, app_id: int, *, awarded_fen: int | None, reference: str = "PAY-1") -> int:
    """Pay with the decided amount set to `awarded_fen`; commits only when the payout is made."""
    with services.uow() as uow:
        app = uow.session.get_one(Application, app_id)
        app.awarded_fen = awarded_fen
        fund_id = uow.session.get_one(Call, app.call_id).fund_id
        payout = pay(uow.session, application=app, fund_id=fund_id, reference=reference, actor="finance",
                     now=services.clock.now())
        uow.commit()
        return payout.amount_fen


@pytest.mark.parametrize("awarded_fen", [None, 0])
def test_no_payout_without_a_decided_amount(at_payout: tuple[Services, int], awarded_fen: int | None) -> None:
    s, app_id = at_payout
    with pytest.raises(InvalidInput) as caught:
        _pay(s, app_id, awarded_fen=awarded_fen)
    assert (caught.value.field, caught.value.rule) == ("amount", "复审未确定奖励金额，不能拨付")
    with s.uow() as uow:
        assert uow.session.scalars(select(Payout)).all() == []
        assert uow.session.scalars(select(Fund.paid_fen)).all() == [0]


def test_no_payout_without_a_payment_reference(at_payout: tuple[Services, int]) -> None:
    s, app_id = at_payout
    with pytest.raises(InvalidInput) as caught:
        _pay(s, app_id, awarded_fen=150_000_00, reference="  ")
    assert (caught.value.field, caught.value.rule) == ("payment_reference", "拨付须填写支付凭证号")


def test_one_fen_is_paid_to_the_fen(at_payout: tuple[Services, int]) -> None:
    s, app_id = at_payout
    assert _pay(s, app_id, awarded_fen=1) == 1
    with s.uow() as uow:
        assert uow.session.scalars(select(Fund.paid_fen)).all() == [1]
        [payout] = uow.session.scalars(select(Payout)).all()
        event = uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == "payout")).one()
    assert (payout.amount_fen, payout.reference) == (1, "PAY-1")
    # one line paid it all: the audit record names the payout, its fund, amount and reference, no parts
    assert (event.application_id, orjson.loads(event.payload)) == (app_id, {
        "payout": payout.id, "fund": payout.fund_id, "amount_fen": 1, "reference": "PAY-1"})
