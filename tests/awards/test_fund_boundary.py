"""A payout of exactly the fund's remaining budget is made; one fen more is refused and changes
nothing. Runs on whichever database the suite runs on (SQLite by default, PostgreSQL too).

Kills issue 16, table row 4: "the fund check `paid + amount <= budget` becomes `<`
(services/awards/payouts.py)", which only the PostgreSQL race test caught.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.awards.demo import Demo
from services.bootstrap import Services
from services.db.models import Fund, Payout
from services.errors import InsufficientFunds
from tests.helpers import act, application, apply_for, open_item, pass_public_notice, snapshot

A = "南昌精工智能装备有限公司"
B = "江西赣江新材料科技有限公司"


def fund(services: Services) -> tuple[int, int]:
    with services.uow() as uow:
        row = uow.session.scalars(select(Fund)).one()
        return row.budget_fen, row.paid_fen


def set_budget(services: Services, fen: int) -> None:
    with services.uow() as uow:
        uow.session.scalars(select(Fund)).one().budget_fen = fen
        uow.commit()


@pytest.fixture
def two_at_payout(services: Services) -> tuple[Services, int, int]:
    """Two cases waiting at the finance payout: 150,000.00 yuan and 60,000.00 yuan awarded."""
    Demo(services, echo=False).load()
    a = apply_for(services, A, "m2-little-giant-national", 300_000_00)
    b = apply_for(services, B, "m2-srdi-sme-province", 60_000_00)
    act(services, a, "district-donghu", "approve")
    act(services, b, "district-xihu", "approve")
    act(services, a, "bureau", "approve", amount_fen=150_000_00)
    act(services, b, "bureau", "approve", amount_fen=60_000_00)
    pass_public_notice(services)
    assert open_item(services, a).task_spec == open_item(services, b).task_spec == "finance_payout"
    return services, a, b


# kills table row 4 (`paid + amount <= budget` turned into `<`)
def test_exactly_the_remaining_budget_is_paid_and_one_fen_more_is_refused(
        two_at_payout: tuple[Services, int, int]) -> None:
    s, a, b = two_at_payout
    set_budget(s, 209_999_99)  # 150,000.00 + 60,000.00 - 0.01 yuan
    act(s, a, "finance", "pay", reference="PAY-A")
    assert fund(s) == (209_999_99, 150_000_00)  # 59,999.99 yuan left

    before = snapshot(s)
    with pytest.raises(InsufficientFunds, match=r"余额 59,999\.99 元，本次拨付 60,000\.00 元"):
        act(s, b, "finance", "pay", reference="PAY-B")  # one fen more than what is left
    assert snapshot(s) == before
    assert open_item(s, b).task_spec == "finance_payout" and application(s, b).status != "paid"

    set_budget(s, 210_000_00)  # one fen more in the fund: 60,000.00 yuan left, exactly the award
    act(s, b, "finance", "pay", reference="PAY-B")
    assert fund(s) == (210_000_00, 210_000_00)  # nothing left, nothing over
    assert application(s, b).status == "paid"
    with s.uow() as uow:
        paid = sorted(p.amount_fen for p in uow.session.scalars(select(Payout)))
    assert paid == [60_000_00, 150_000_00]


def test_a_single_payout_equal_to_the_whole_budget_is_made(two_at_payout: tuple[Services, int, int]) -> None:
    s, a, _ = two_at_payout
    set_budget(s, 150_000_00)
    act(s, a, "finance", "pay", reference="PAY-A")
    assert fund(s) == (150_000_00, 150_000_00)
    assert application(s, a).status == "paid"
