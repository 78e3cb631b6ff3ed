"""Due dates and late interest against worked examples (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from config.settings import Settings
from services.arrears.rules import load_rules
from services.arrears.statute import late_interest, lpr_on, payment_due
from services.bootstrap import build
from services.errors import InvalidInput
from services.time.calendar import WorkingCalendar

RULES = load_rules()
CAL = WorkingCalendar()
D = date.fromisoformat


def due(kind: str, signed: str, delivered: str, accepted: str | None = None, agreed: int | None = None) -> date:
    return payment_due(RULES, CAL, kind=kind, signed_on=D(signed), delivered_on=D(delivered),
                       accepted_on=D(accepted) if accepted else None, agreed_days=agreed).due_on


@pytest.mark.parametrize(("kind", "signed", "delivered", "accepted", "agreed", "expected", "why"), [
    # 30 days after delivery: 2024-03-31 is a Sunday, so the period ends on Monday 2024-04-01 (民法典 203)
    ("government", "2024-01-10", "2024-03-01", None, None, "2024-04-01", "30 days, rolled past a Sunday"),
    ("institution", "2024-01-10", "2024-03-01", None, None, "2024-04-01", "public institutions alike"),
    # where acceptance is a condition, the clock starts at acceptance: 2024-04-14 is a Sunday
    ("government", "2024-01-10", "2024-03-01", "2024-03-15", None, "2024-04-15", "from acceptance"),
    ("government", "2024-01-10", "2024-03-01", None, 45, "2024-04-15", "agreed 45 days (Mon 04-15)"),
    ("government", "2024-01-10", "2024-03-01", None, 90, "2024-04-30", "agreed 90 days capped at 60"),
    # National Day 2024: 10-01 .. 10-07 are holidays; the period ends on Tuesday 10-08
    ("government", "2024-01-10", "2024-09-01", None, None, "2024-10-08", "rolled past the National Day week"),
    # 2024-10-12 is a Saturday swapped into a working day (调休): it is the last day itself
    ("government", "2024-01-10", "2024-09-12", None, None, "2024-10-12", "a swapped working Saturday counts"),
    ("large_enterprise", "2024-01-10", "2024-03-01", None, 90, "2024-05-30", "2020 rules: the agreed term"),
    # the 2020/2025 boundary is the signing date: 2025-06-01 and later, large enterprises 60 days
    ("large_enterprise", "2025-06-01", "2025-06-03", None, None, "2025-08-04", "2025: 60 days, Sat -> Mon"),
    ("large_enterprise", "2025-06-01", "2025-06-03", None, 30, "2025-07-03", "2025: agreed term prevails"),
    ("government", "2025-06-01", "2025-06-03", None, None, "2025-07-03", "2025: 30 days for public bodies"),
])
def test_due_dates(kind: str, signed: str, delivered: str, accepted: str | None, agreed: int | None,
                   expected: str, why: str) -> None:
    assert due(kind, signed, delivered, accepted, agreed) == D(expected), why


def test_the_edition_follows_the_signing_date_and_cites_its_article() -> None:
    before = payment_due(RULES, CAL, kind="government", signed_on=D("2025-05-31"), delivered_on=D("2025-06-03"))
    after = payment_due(RULES, CAL, kind="government", signed_on=D("2025-06-01"), delivered_on=D("2025-06-03"))
    assert (before.edition, after.edition) == ("2020", "2025")
    assert "国务院令第728号" in before.basis and "第八条" in before.basis
    assert "国务院令第802号" in after.basis and "第九条" in after.basis
    capped = payment_due(RULES, CAL, kind="government", signed_on=D("2024-01-10"), delivered_on=D("2024-03-01"),
                         agreed_days=90)
    assert capped.days == 60 and "超过法定上限" in capped.basis


def test_large_enterprise_under_2020_rules_needs_the_agreed_term() -> None:
    with pytest.raises(InvalidInput) as exc:
        due("large_enterprise", "2025-05-31", "2025-06-03")
    assert exc.value.field == "agreed_days"
    assert due("large_enterprise", "2025-06-01", "2025-06-03") == D("2025-08-04")


def test_contracts_before_the_2020_order_have_no_statutory_term() -> None:
    with pytest.raises(InvalidInput) as exc:
        due("government", "2020-08-31", "2020-09-10")
    assert exc.value.field == "agreed_days"
    assert due("government", "2020-08-31", "2020-09-10", agreed=20) == D("2020-09-30")


@pytest.mark.parametrize(("field", "kwargs"), [
    ("delivered_on", {"signed_on": D("2024-02-01"), "delivered_on": D("2024-01-01")}),
    ("accepted_on", {"signed_on": D("2024-01-01"), "delivered_on": D("2024-02-01"), "accepted_on": D("2024-01-15")}),
    ("agreed_days", {"signed_on": D("2024-01-01"), "delivered_on": D("2024-02-01"), "agreed_days": 0}),
    ("debtor_kind", {"signed_on": D("2024-01-01"), "delivered_on": D("2024-02-01"), "kind": "sme"}),
])
def test_bad_dates_name_the_field(field: str, kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"kind": "government", **kwargs}
    with pytest.raises(InvalidInput) as exc:
        payment_due(RULES, CAL, **args)  # type: ignore[arg-type]
    assert exc.value.field == field


def interest(principal: int, due_on: str, as_of: str, *, signed: str = "2024-01-10", rate_ppm: int | None = None,
             repayments: tuple[tuple[str, int], ...] = ()) -> tuple[int, str]:
    r = late_interest(RULES, principal_fen=principal, due_on=D(due_on), signed_on=D(signed),
                      agreed_rate_ppm=rate_ppm, repayments=[(D(d), a) for d, a in repayments], as_of=D(as_of))
    return r.fen, r.basis


def test_statutory_daily_rate_without_agreement() -> None:
    # 100,000.00 yuan, 30 days late, 0.05 % a day: 100,000 x 0.0005 x 30 = 1,500.00 yuan
    assert interest(10_000_000, "2024-04-01", "2024-05-01") == (150_000, "statutory_daily")


def test_agreed_rate_above_the_lpr_floor() -> None:
    # signed 2024-01-10 (LPR 3.45 %), agreed 4.35 %: 100,000 x 4.35 % / 360 x 30 = 362.50 yuan
    assert interest(10_000_000, "2024-04-01", "2024-05-01", rate_ppm=43_500) == (36_250, "agreed")


def test_agreed_rate_below_the_lpr_is_raised_to_the_floor() -> None:
    # agreed 3.00 % < LPR 3.45 % at signing: 100,000 x 3.45 % / 360 x 30 = 287.50 yuan
    assert interest(10_000_000, "2024-04-01", "2024-05-01", rate_ppm=30_000) == (28_750, "lpr_floor")


def test_the_lpr_is_the_one_in_force_when_the_contract_was_signed() -> None:
    assert lpr_on(RULES.lpr, D("2024-10-20")) == (Decimal("3.35"), False)
    assert lpr_on(RULES.lpr, D("2024-10-21")) == (Decimal("3.10"), False)
    assert lpr_on(RULES.lpr, D("2019-08-20")) == (Decimal("4.25"), False)
    assert lpr_on(RULES.lpr, D("2025-05-20")) == (Decimal("3.00"), False)
    assert lpr_on(RULES.lpr, D("2025-07-01"))[1] is True  # past the series we are certain of
    with pytest.raises(InvalidInput):
        lpr_on(RULES.lpr, D("2019-08-19"))
    # agreed 3.20 %: below the 3.35 % floor on 10-20, above the 3.10 % floor on 10-21
    assert interest(10_000_000, "2025-01-01", "2025-01-31", signed="2024-10-20", rate_ppm=32_000)[1] == "lpr_floor"
    assert interest(10_000_000, "2025-01-01", "2025-01-31", signed="2024-10-21", rate_ppm=32_000)[1] == "agreed"


def test_interest_follows_partial_repayments() -> None:
    # 40,000 paid 10 days late, 60,000 paid 30 days late: 100,000 x 10 + 60,000 x 20 days at 0.05 %
    paid = (("2024-04-11", 4_000_000), ("2024-05-01", 6_000_000))
    assert interest(10_000_000, "2024-04-01", "2024-12-31", repayments=paid) == (110_000, "statutory_daily")
    # paid on time: no interest; as of the due date itself: none yet
    assert interest(10_000_000, "2024-04-01", "2024-12-31", repayments=(("2024-04-01", 10_000_000),))[0] == 0
    assert interest(10_000_000, "2024-04-01", "2024-04-01")[0] == 0


def test_rounding_is_half_up_to_the_fen() -> None:
    # 10.00 yuan one day late at 0.05 %: 0.5 fen exactly -> 1 fen (half up; half-even would give 0)
    assert interest(1_000, "2024-04-01", "2024-04-02")[0] == 1
    # 333.33 yuan one day: 16.6665 fen -> 17; agreed 4.35 % on 1,234.56 yuan for 7 days: 104.4232 -> 104
    assert interest(33_333, "2024-04-01", "2024-04-02")[0] == 17
    assert interest(123_456, "2024-04-01", "2024-04-08", rate_ppm=43_500)[0] == 104


def test_the_interest_article_follows_the_edition() -> None:
    old = late_interest(RULES, principal_fen=100, due_on=D("2025-07-01"), signed_on=D("2025-05-31"),
                        agreed_rate_ppm=None, repayments=[], as_of=D("2025-07-02"))
    new = late_interest(RULES, principal_fen=100, due_on=D("2025-07-01"), signed_on=D("2025-06-01"),
                        agreed_rate_ppm=None, repayments=[], as_of=D("2025-07-02"))
    assert "第十五条" in old.article and "728" in old.article
    assert "第十七条" in new.article and "802" in new.article


def test_stage_limits_of_the_campaign_match_the_statute() -> None:
    limits = Settings().stage_limits
    assert limits["arrears_acceptance"] == RULES.acceptance_working_days == 10
    assert limits["arrears_transfer"] == RULES.transfer_working_days == 10
    assert (RULES.handling_days, RULES.handling_max_days, RULES.confirmation_days) == (30, 90, 30)


def test_a_setting_above_the_statutory_limit_is_refused() -> None:
    from services.arrears.intake import check_limits

    services = build(Settings(environment="test", stage_limits={"arrears_acceptance": 15}))
    with pytest.raises(ValueError, match="statutory"):
        check_limits(services)


def test_a_contract_signed_before_the_reformed_lpr_keeps_its_agreed_rate() -> None:
    # signed 2019-03-01, before the first one-year LPR (2019-08-20): no floor exists, the agreed 6 % applies:
    # 100,000 x 6 % / 360 x 30 = 500.00 yuan (it used to fail: "no LPR", and took the case page with it)
    r = late_interest(RULES, principal_fen=10_000_000, due_on=D("2020-10-01"), signed_on=D("2019-03-01"),
                      agreed_rate_ppm=60_000, repayments=[], as_of=D("2020-10-31"))
    assert (r.fen, r.basis, r.annual_percent) == (50_000, "contract", Decimal("6"))
    assert "不溯及既往" in r.article and "按合同约定利率" in r.article
