"""Statutory arithmetic of the Regulations on Ensuring Payment to SMEs: payment due dates and late
interest, exact to the fen.

Due date: the term runs from the day after delivery, or after acceptance where the contract makes
acceptance a condition of payment; government bodies and public institutions 30 days (an agreed term
never beyond 60), large enterprises 60 days under the 2025 order (the agreed term under the 2020
order, which fixes none). The edition is chosen by the date the contract was signed. A last day that
is a rest day (weekend or public holiday, swapped working weekends excepted) moves to the next
working day (民法典 第二百零三条).

Late interest: simple interest on the unpaid principal, day by day from the day after the due date
up to and including the day of payment (or the as-of date while unpaid). The daily rate is the
agreed annual rate (never below the one-year LPR at signing; a contract signed before the first
reformed LPR (config/lpr.toml `starts`) has no floor) divided by the configured days per year, or 0.05 % a day
without an agreement. The exact sum is rounded once, to the fen, half up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from services.arrears.rules import ArrearsRules, Edition, Lpr
from services.errors import InvalidInput
from services.time.calendar import WorkingCalendar

__all__ = ["KIND_NAMES", "DueDate", "Interest", "Terms", "due_of_case", "edition_for", "late_interest", "lpr_on",
           "payment_due", "period_end", "ppm_to_percent"]

KIND_NAMES = {"government": "机关", "institution": "事业单位", "large_enterprise": "大型企业",
              "organisation": "团体组织（使用财政资金）"}
PUBLIC_KINDS = ("government", "institution")
PPM = Decimal(1_000_000)


@dataclass(frozen=True)
class DueDate:
    due_on: date
    edition: str  # "2020" | "2025" | "none" (contract signed before the 2020 order)
    start_on: date  # delivery or acceptance
    days: int
    basis: str  # where the term comes from, in Chinese, with the article
    provisional: bool  # counted through a year whose holidays are not known yet


@dataclass(frozen=True)
class Interest:
    fen: int
    exact_fen: Decimal
    basis: str  # agreed | lpr_floor | statutory_daily | none
    annual_percent: Decimal | None
    daily_rate: Decimal
    overdue_days: int  # days from the due date to the last day that accrued
    article: str
    lpr_provisional: bool = False


def edition_for(rules: ArrearsRules, signed_on: date) -> Edition | None:
    """The edition that governs a contract signed on `signed_on` (None: before the 2020 order)."""
    found = None
    for edition in rules.editions:
        if signed_on >= edition.applies_from:
            found = edition
    return found


def period_end(calendar: WorkingCalendar, start: date, days: int, *, roll: bool) -> tuple[date, bool]:
    """The last day of a period of `days` days that starts the day after `start`; moved past rest days.

    Memoised on the calendar, which drops its memo when it learns a year (WorkingCalendar.period_end).
    """
    return calendar.period_end(start, days, roll=roll)


@dataclass(frozen=True)
class Terms:
    """What a contract says about when the term starts and how long it is (all optional)."""

    accepted_on: date | None = None  # inspection or acceptance passed
    inspection_due_on: date | None = None  # last day of the agreed inspection or acceptance period
    settled_on: date | None = None  # both sides confirmed the settled amount
    agreed_days: int | None = None
    special_days: int | None = None  # a term fixed by a special law
    special_basis: str = ""  # that law and its article


def _check_terms(signed_on: date, delivered_on: date, t: Terms) -> None:
    if delivered_on < signed_on:
        raise InvalidInput("delivered_on", "交付日期不能早于合同签订日期")
    if t.accepted_on is not None and t.accepted_on < delivered_on:
        raise InvalidInput("accepted_on", "验收日期不能早于交付日期")
    if t.inspection_due_on is not None and t.inspection_due_on < delivered_on:
        raise InvalidInput("inspection_due_on", "约定检验或者验收期限届满日不能早于交付日期")
    if t.settled_on is not None and t.settled_on < signed_on:
        raise InvalidInput("settled_on", "结算金额确认日期不能早于合同签订日期")
    if t.agreed_days is not None and t.agreed_days <= 0:
        raise InvalidInput("agreed_days", "约定付款期限须为正整数（天）")
    if t.special_days is not None and not t.special_basis.strip():
        raise InvalidInput("special_term_basis",
                           "填写特别规定的付款期限时，须写明规定该期限的法律、行政法规及条款")
    if t.special_basis.strip() and t.special_days is None:
        raise InvalidInput("special_term_days",
                           "写明了特别规定的依据，须同时填写其规定的付款期限（天）")


def _term_start(edition: Edition | None, delivered_on: date, t: Terms) -> tuple[date, str]:
    """The day after which the term runs, and its basis (empty: delivery)."""
    def cite(article: str) -> str:
        return edition.cite(article) if edition is not None else "合同约定"

    if t.settled_on is not None:
        return t.settled_on, cite(edition.settlement_article if edition else "") + "（自双方确认结算金额之日起算）"
    if t.inspection_due_on is not None and (t.accepted_on is None or t.accepted_on > t.inspection_due_on):
        return t.inspection_due_on, (cite(edition.delayed_inspection_article if edition else "")
                                     + "（拖延检验或者验收，自约定的检验或者验收期限届满之日起算）")
    if t.accepted_on is not None:
        return t.accepted_on, cite(edition.acceptance_article if edition else "") + "（自检验或者验收合格之日起算）"
    return delivered_on, ""


def payment_due(rules: ArrearsRules, calendar: WorkingCalendar, *, kind: str, signed_on: date, delivered_on: date,
                accepted_on: date | None = None, agreed_days: int | None = None,
                terms: Terms | None = None) -> DueDate:
    """The statutory (or agreed, or specially fixed) payment due date; InvalidInput names the field that prevents it.

    `kind` is the debtor's kind when the contract was signed (2025 第三条第二款): "sme" means the
    regulation does not apply to that contract.
    """
    t = terms or Terms(accepted_on=accepted_on, agreed_days=agreed_days)
    edition = edition_for(rules, signed_on)
    if kind == "sme":
        article = (edition or rules.editions[0]).cite((edition or rules.editions[0]).size_at_signing_article)
        raise InvalidInput("debtor_kind",
                           f"合同订立时债务人为中小企业，本条例不适用（{article}：企业规模类型依合同订立时确定）")
    if kind not in KIND_NAMES:
        raise InvalidInput("debtor_kind", f"债务人类型须为 {'、'.join(KIND_NAMES.values())} 之一")
    _check_terms(signed_on, delivered_on, t)
    start, start_basis = _term_start(edition, delivered_on, t)
    roll = rules.roll_past_rest_days
    if edition is None:
        days = t.special_days or t.agreed_days
        if days is None:
            raise InvalidInput("agreed_days",
                               f"合同签订早于条例施行（{rules.in_force_from}，{rules.in_force_article}），"
                               "条例不溯及既往，无法定付款期限，须填写约定期限")
        end, prov = period_end(calendar, start, days, roll=roll)
        basis = t.special_basis if t.special_days else "合同约定付款期限（合同订立早于条例施行）"
        return DueDate(end, "none", start, days, basis + (f"；{start_basis}" if start_basis else ""), prov)
    public = kind in PUBLIC_KINDS or (kind == "organisation" and bool(edition.organisation_article))
    if t.special_days is not None:
        days = t.special_days
        basis = t.special_basis.strip()
        if edition.special_law_article:
            basis += f"（{edition.cite(edition.special_law_article)}：另有规定的从其规定）"
    elif public:
        days = edition.public_days if t.agreed_days is None else min(t.agreed_days, edition.public_max_agreed_days)
        basis = edition.cite(edition.public_article)
        if kind == "organisation":
            basis += f"；{edition.cite(edition.organisation_article)}（使用财政资金的团体组织）"
        if t.agreed_days is not None and t.agreed_days > edition.public_max_agreed_days:
            basis += f"（约定 {t.agreed_days} 日超过法定上限，按 {days} 日计）"
        elif t.agreed_days is not None:
            basis += f"（约定 {t.agreed_days} 日）"
    elif t.agreed_days is not None:
        days = t.agreed_days
        basis = edition.cite(edition.large_article) if kind == "large_enterprise" else "合同约定"
        basis += f"（从其约定：{days} 日）"
    elif kind == "organisation":
        raise InvalidInput("agreed_days",
                           f"{edition.order}：本系统未载明该版本对团体组织的付款期限规定，须填写合同约定的付款期限")
    elif edition.large_days:
        days, basis = edition.large_days, edition.cite(edition.large_article)
    else:
        raise InvalidInput("agreed_days", f"{edition.order}未规定大型企业付款天数，须填写合同约定的付款期限")
    end, prov = period_end(calendar, start, days, roll=roll)
    return DueDate(end, edition.code, start, days, basis + (f"；{start_basis}" if start_basis else ""), prov)


def due_of_case(rules: ArrearsRules, calendar: WorkingCalendar, case: Any) -> DueDate | None:
    """The due date of a stored case recomputed with its basis (for display); None if it no longer computes."""
    terms = Terms(accepted_on=case.accepted_on, inspection_due_on=case.inspection_due_on, settled_on=case.settled_on,
                  agreed_days=case.agreed_days, special_days=case.special_term_days,
                  special_basis=case.special_term_basis or "")
    try:
        return payment_due(rules, calendar, kind=case.debtor_kind, signed_on=case.signed_on,
                           delivered_on=case.delivered_on, terms=terms)
    except InvalidInput:
        return None


def lpr_on(lpr: Lpr, day: date) -> tuple[Decimal, bool]:
    """The one-year LPR (percent a year) in force on `day`, and whether it is provisional."""
    if day < lpr.starts:
        raise InvalidInput("signed_on", f"{day} 早于贷款市场报价利率（LPR）改革后首次公布日 {lpr.starts}，"
                                        "无法确定利率下限")
    rate = next(p for d, p in reversed(lpr.points) if d <= day)
    return rate, day > lpr.certain_through


def ppm_to_percent(ppm: int) -> Decimal:
    """An annual rate stored in parts per million, as percent (43500 -> 4.35)."""
    return Decimal(ppm) / Decimal(10_000)


def _accrual(principal_fen: int, due_on: date, as_of: date,
             repayments: Iterable[tuple[date, int]]) -> tuple[list[tuple[int, int]], int]:
    """(balance fen, days) segments of the unpaid principal after the due date, and the days accrued."""
    balance, cursor, segments = principal_fen, due_on, []
    for paid_on, amount in sorted(repayments):
        if paid_on > as_of:
            break
        if paid_on > cursor and balance > 0:
            segments.append((balance, (paid_on - cursor).days))
            cursor = paid_on
        balance = max(0, balance - amount)
    if balance > 0 and as_of > cursor:
        segments.append((balance, (as_of - cursor).days))
        cursor = as_of
    return segments, (cursor - due_on).days


def late_interest(rules: ArrearsRules, *, principal_fen: int, due_on: date, signed_on: date,
                  agreed_rate_ppm: int | None, repayments: Iterable[tuple[date, int]], as_of: date) -> Interest:
    """Late-payment interest on `principal_fen` due on `due_on`, as of `as_of`, given the repayments.

    A contract signed before the regulation took effect (2020 第二十九条) gets no statutory rate and
    no LPR floor: the agreed rate, else nothing under this regulation.
    """
    edition = edition_for(rules, signed_on)
    segments, days = _accrual(principal_fen, due_on, as_of, repayments)
    balance_days = sum(Decimal(b) * d for b, d in segments)
    divisor = Decimal(100 * rules.days_per_year)
    if edition is None:
        article = f"合同订立早于条例施行（{rules.in_force_from}，{rules.in_force_article}），条例不溯及既往"
        if agreed_rate_ppm is None:
            return Interest(0, Decimal(0), "before_regulation", None, Decimal(0), days,
                            article + "：无约定利率，不计逾期利息")
        agreed = ppm_to_percent(agreed_rate_ppm)
        exact = balance_days * agreed / divisor
        return Interest(_round(exact), exact, "contract" if segments else "none", agreed, agreed / divisor, days,
                        article + "：按合同约定利率")
    article = edition.cite(edition.interest_article)
    if agreed_rate_ppm is None:
        exact = balance_days * edition.daily_rate
        return Interest(_round(exact), exact, "statutory_daily" if segments else "none", None, edition.daily_rate,
                        days, article)
    agreed = ppm_to_percent(agreed_rate_ppm)
    if signed_on < rules.lpr.starts:  # no reformed LPR at signing: no floor to apply, the agreed rate stands
        floor, provisional = agreed, False
        article += "（合同订立时尚无一年期LPR，按约定利率）"
    else:
        floor, provisional = lpr_on(rules.lpr, signed_on)
    annual = max(agreed, floor)
    exact = balance_days * annual / divisor
    basis = "agreed" if agreed >= floor else "lpr_floor"
    return Interest(_round(exact), exact, basis if segments else "none", annual, annual / divisor, days, article,
                    provisional)


def _round(exact_fen: Decimal) -> int:
    return int(exact_fen.quantize(Decimal(1), rounding=ROUND_HALF_UP))
