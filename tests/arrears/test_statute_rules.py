"""The statutory rules of issue 14 items 4 and 6-9, each against a case worked by hand from its article.

《保障中小企业款项支付条例》 2025 (国务院令第802号, in force 2025-06-01) and 2020 (国务院令第728号, in force
2020-09-01). Day counts follow 民法典 第二百零一条 (the start day is not counted) and 第二百零三条 (a last
day that is a rest day moves to the next working day); 2024 and 2025 holidays are the State Council's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.arrears.demo import make_uscc
from services.arrears.intake import validate
from services.arrears.rules import load_rules
from services.arrears.statute import Terms, late_interest, payment_due
from services.db.models_arrears import ArrearsDebtor
from services.errors import InvalidInput
from services.time.calendar import WorkingCalendar

RULES = load_rules()
CAL = WorkingCalendar(package_through=2026)
D = date.fromisoformat


def due(kind: str, signed: str, delivered: str, **terms: object):  # type: ignore[no-untyped-def]
    return payment_due(RULES, CAL, kind=kind, signed_on=D(signed), delivered_on=D(delivered),
                       terms=Terms(**terms))  # type: ignore[arg-type]


# -- item 6: 2025 第十条第二款, the debtor delays inspection or acceptance -------------------------------


def test_a_delayed_inspection_starts_the_term_at_the_end_of_the_agreed_period() -> None:
    # Delivered Thu 2025-07-10, inspection agreed to end Fri 2025-07-25, accepted only on Mon 2025-09-01.
    # The 30 days run from 07-25: the 30th day is Sun 2025-08-24, so the term ends Mon 2025-08-25.
    late = due("government", "2025-07-01", "2025-07-10", inspection_due_on=D("2025-07-25"), accepted_on=D("2025-09-01"))
    assert (late.start_on, late.due_on) == (D("2025-07-25"), D("2025-08-25"))
    assert "第十条第二款" in late.basis and "拖延检验或者验收" in late.basis
    # Not accepted at all: the same.
    assert due("government", "2025-07-01", "2025-07-10", inspection_due_on=D("2025-07-25")).due_on == D("2025-08-25")
    # Accepted in time (Sun 07-20): the term runs from acceptance, ending Tue 2025-08-19.
    on_time = due("government", "2025-07-01", "2025-07-10", inspection_due_on=D("2025-07-25"),
                  accepted_on=D("2025-07-20"))
    assert on_time.due_on == D("2025-08-19") and "第十条" in on_time.basis and "拖延" not in on_time.basis


def test_under_the_2020_text_the_same_rules_cite_its_ninth_article() -> None:
    # 2020 第九条第二款 (its second sentence): delivered Fri 2024-03-08, inspection agreed to end Fri 2024-03-22,
    # accepted only on Mon 2024-05-06. 30 days from 03-22: Mar 23-31 (9) + Apr 1-21 (21) = Sun 2024-04-21,
    # a rest day (not one of 2024's swapped working Sundays, which was 04-07), so Mon 2024-04-22.
    late = due("government", "2024-03-01", "2024-03-08", inspection_due_on=D("2024-03-22"), accepted_on=D("2024-05-06"))
    assert (late.start_on, late.due_on) == (D("2024-03-22"), D("2024-04-22"))
    assert "国务院令第728号" in late.basis and "第九条第二款" in late.basis
    # 2020 第九条第一款: accepted in time on Wed 2024-03-20: 30 days = Fri 2024-04-19.
    on_time = due("government", "2024-03-01", "2024-03-08", inspection_due_on=D("2024-03-22"),
                  accepted_on=D("2024-03-20"))
    assert on_time.due_on == D("2024-04-19") and "第九条第一款" in on_time.basis


def test_the_delayed_inspection_is_what_the_interest_counts_from() -> None:
    # From acceptance (09-01) the term would end on 10-01, in the National Day break, so Thu 10-09:
    # paid on 10-09, nothing would be owed. From the end of the inspection period it ended 08-25:
    # 45 days late (Aug 26-31: 6, Sep: 30, Oct 1-9: 9), 100,000.00 yuan x 0.05 % x 45 = 2,250.00 yuan.
    r = late_interest(RULES, principal_fen=10_000_000, due_on=D("2025-08-25"), signed_on=D("2025-07-01"),
                      agreed_rate_ppm=None, repayments=[(D("2025-10-09"), 10_000_000)], as_of=D("2025-12-01"))
    assert (r.fen, r.overdue_days, r.basis) == (225_000, 45, "statutory_daily")


# -- item 6: 2025 第九条第四款 / 2020 第八条第三款, a contract paid on settlement ------------------------


def test_a_settlement_contract_starts_the_term_on_the_confirmed_settlement_date() -> None:
    # 2025: a large enterprise, settlement confirmed Fri 2025-08-15; 60 days: Aug 16-31 (16), Sep (30),
    # Oct 1-14 (14) = Tue 2025-10-14, a working day. From delivery (06-20) it would be Tue 2025-08-19.
    settled = due("large_enterprise", "2025-06-10", "2025-06-20", settled_on=D("2025-08-15"))
    assert (settled.start_on, settled.due_on, settled.days) == (D("2025-08-15"), D("2025-10-14"), 60)
    assert "第九条第四款" in settled.basis and "确认结算金额" in settled.basis
    assert due("large_enterprise", "2025-06-10", "2025-06-20").due_on == D("2025-08-19")
    # 2020: a government body, settlement confirmed Mon 2024-05-20; 30 days = Wed 2024-06-19.
    old = due("government", "2024-03-01", "2024-03-10", settled_on=D("2024-05-20"))
    assert old.due_on == D("2024-06-19") and "国务院令第728号" in old.basis and "第八条第三款" in old.basis


# -- item 4: 2020 第二十九条, the regulation does not reach back -----------------------------------------


def test_a_contract_signed_before_2020_09_01_gets_no_statutory_interest() -> None:
    # No agreed rate: nothing under this regulation (it used to charge the 2020 rate of 0.05 % a day).
    none = late_interest(RULES, principal_fen=10_000_000, due_on=D("2020-10-01"), signed_on=D("2020-08-31"),
                         agreed_rate_ppm=None, repayments=[], as_of=D("2020-10-31"))
    assert (none.fen, none.basis) == (0, "before_regulation")
    assert "第二十九条" in none.article and "不溯及既往" in none.article
    # An agreed 3.65 % a year stands, with no LPR floor (the LPR on 2020-08-31 was 3.85 %):
    # 100,000.00 x 3.65 % / 360 x 30 = 304.1666... yuan -> 30,416.67 fen -> 30,417 fen.
    agreed = late_interest(RULES, principal_fen=10_000_000, due_on=D("2020-10-01"), signed_on=D("2020-08-31"),
                           agreed_rate_ppm=36_500, repayments=[], as_of=D("2020-10-31"))
    assert (agreed.fen, agreed.basis, agreed.annual_percent) == (30_417, "contract", Decimal("3.65"))
    # Signed on the day it took effect: the 2020 rate, 100,000.00 x 0.05 % x 30 = 1,500.00 yuan.
    day_one = late_interest(RULES, principal_fen=10_000_000, due_on=D("2020-10-01"), signed_on=D("2020-09-01"),
                            agreed_rate_ppm=None, repayments=[], as_of=D("2020-10-31"))
    assert (day_one.fen, day_one.basis) == (150_000, "statutory_daily")


# -- item 7: 2025 第九条第三款, a special law that fixes another term -----------------------------------


def test_a_term_fixed_by_a_special_law_prevails_and_names_its_basis() -> None:
    basis = "测试用：某法律第十条（非真实条文）"
    # 15 days from Thu 2025-07-10 = Fri 2025-07-25 (instead of the 30 days of 第九条第一款: 2025-08-11).
    special = due("government", "2025-07-01", "2025-07-10", special_days=15, special_basis=basis)
    assert special.due_on == D("2025-07-25") and basis in special.basis and "第九条第三款" in special.basis
    with pytest.raises(InvalidInput) as exc:
        due("government", "2025-07-01", "2025-07-10", special_days=15)
    assert exc.value.field == "special_term_basis"
    with pytest.raises(InvalidInput) as exc:
        due("government", "2025-07-01", "2025-07-10", special_basis=basis)
    assert exc.value.field == "special_term_days"


# -- item 8: 2025 第三十六条, 团体组织 using fiscal funds --------------------------------------------------


def test_an_organisation_using_fiscal_funds_pays_like_a_public_body() -> None:
    # 30 days from Thu 2025-07-10 = Sat 2025-08-09 -> Mon 2025-08-11; an agreed 90 days is capped at 60:
    # Mon 2025-09-08.
    org = due("organisation", "2025-07-01", "2025-07-10")
    assert (org.due_on, org.days) == (D("2025-08-11"), 30) and "第三十六条" in org.basis
    capped = due("organisation", "2025-07-01", "2025-07-10", agreed_days=90)
    assert (capped.due_on, capped.days) == (D("2025-09-08"), 60)
    # The 2020 text has the same rule in 第二十八条第一款 (参照本条例对机关、事业单位的有关规定执行):
    # 30 days from Fri 2024-03-01 = Sun 2024-03-31 -> Mon 2024-04-01 (2020 第八条第一款); an agreed
    # 45 days stays under the 60-day cap: Mon 2024-04-15.
    old = due("organisation", "2024-01-10", "2024-03-01")
    assert (old.due_on, old.days) == (D("2024-04-01"), 30)
    assert "第八条第一款" in old.basis and "第二十八条第一款" in old.basis
    assert due("organisation", "2024-01-10", "2024-03-01", agreed_days=45).due_on == D("2024-04-15")


# -- item 9: 2025 第三条第二款, the size at signing ---------------------------------------------------------

BIG = make_uscc("91", 3)
RECORD = {"creditor_uscc": make_uscc("91", 77), "creditor_name": "南昌测试科技有限公司", "debtor_uscc": BIG,
          "contract_no": "HT-1", "signed_on": "2025-07-01", "delivered_on": "2025-07-10", "amount": "1000"}


def debtors() -> dict[str, ArrearsDebtor]:
    debtor = ArrearsDebtor(id=1, uscc=BIG, name="大企业", kind="large_enterprise", department_code="city-sasac",
                           created_at=datetime(2025, 1, 1, tzinfo=UTC))
    return {BIG: debtor}


def test_the_debtor_size_is_the_one_at_signing_and_is_stored_per_contract() -> None:
    # Registered today as a large enterprise; at signing a medium-sized one: the regulation does not apply.
    record, errors = validate({**RECORD, "debtor_kind": "中小企业"}, debtors=debtors(), rules=RULES, calendar=CAL)
    assert record is None and [f for f, _ in errors] == ["debtor_kind"] and "第三条第二款" in errors[0][1]
    # Large at signing: 60 days from Thu 2025-07-10 = Mon 2025-09-08, and the kind is kept on the case.
    record, errors = validate({**RECORD, "debtor_kind": "大型企业"}, debtors=debtors(), rules=RULES, calendar=CAL)
    assert errors == [] and record is not None
    assert (record.debtor_kind, record.due_on) == ("large_enterprise", D("2025-09-08"))
    # Left blank: the registry's kind.
    record, _ = validate(RECORD, debtors=debtors(), rules=RULES, calendar=CAL)
    assert record is not None and record.debtor_kind == "large_enterprise"
    _, errors = validate({**RECORD, "debtor_kind": "个体户"}, debtors=debtors(), rules=RULES, calendar=CAL)
    assert [f for f, _ in errors] == ["debtor_kind"]
