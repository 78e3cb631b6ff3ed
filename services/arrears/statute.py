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

from services.arrears.rules import ArrearsRules, Edition, Lpr
from services.errors import InvalidInput
from services.time.calendar import WorkingCalendar

__all__ = ["KIND_NAMES", "DueDate", "Interest", "edition_for", "late_interest", "lpr_on", "payment_due",
           "period_end", "ppm_to_percent"]

KIND_NAMES = {"government": "机关", "institution": "事业单位", "large_enterprise": "大型企业"}
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


def payment_due(rules: ArrearsRules, calendar: WorkingCalendar, *, kind: str, signed_on: date, delivered_on: date,
                accepted_on: date | None = None, agreed_days: int | None = None) -> DueDate:
    """The statutory (or agreed) payment due date of a debt; InvalidInput names the field that prevents it."""
    if kind not in KIND_NAMES:
        raise InvalidInput("debtor_kind", f"债务人类型须为 {', '.join(KIND_NAMES)} 之一")
    if delivered_on < signed_on:
        raise InvalidInput("delivered_on", "交付日期不能早于合同签订日期")
    if accepted_on is not None and accepted_on < delivered_on:
        raise InvalidInput("accepted_on", "验收日期不能早于交付日期")
    if agreed_days is not None and agreed_days <= 0:
        raise InvalidInput("agreed_days", "约定付款期限须为正整数（天）")
    start = accepted_on or delivered_on
    edition = edition_for(rules, signed_on)
    if edition is None:
        if agreed_days is None:
            raise InvalidInput("agreed_days", "合同签订早于条例施行（2020-09-01），无法定付款期限，须填写约定期限")
        end, prov = period_end(calendar, start, agreed_days, roll=rules.roll_past_rest_days)
        return DueDate(end, "none", start, agreed_days, "合同约定付款期限", prov)
    start_basis = edition.cite(edition.acceptance_article) + "（自验收合格之日起算）" if accepted_on else ""
    if kind in PUBLIC_KINDS:
        days = edition.public_days if agreed_days is None else min(agreed_days, edition.public_max_agreed_days)
        basis = edition.cite(edition.public_article)
        if agreed_days is not None and agreed_days > edition.public_max_agreed_days:
            basis += f"（约定 {agreed_days} 日超过法定上限，按 {days} 日计）"
        elif agreed_days is not None:
            basis += f"（约定 {agreed_days} 日）"
    elif agreed_days is not None:
        days, basis = agreed_days, edition.cite(edition.large_article) + f"（从其约定：{agreed_days} 日）"
    elif edition.large_days:
        days, basis = edition.large_days, edition.cite(edition.large_article)
    else:
        raise InvalidInput("agreed_days", f"{edition.order}未规定大型企业付款天数，须填写合同约定的付款期限")
    end, prov = period_end(calendar, start, days, roll=rules.roll_past_rest_days)
    return DueDate(end, edition.code, start, days, basis + (f"；{start_basis}" if start_basis else ""), prov)


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
    """Late-payment interest on `principal_fen` due on `due_on`, as of `as_of`, given the repayments."""
    edition = edition_for(rules, signed_on) or rules.editions[0]
    segments, days = _accrual(principal_fen, due_on, as_of, repayments)
    balance_days = sum(Decimal(b) * d for b, d in segments)
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
    divisor = Decimal(100 * rules.days_per_year)
    exact = balance_days * annual / divisor
    basis = "agreed" if agreed >= floor else "lpr_floor"
    return Interest(_round(exact), exact, basis if segments else "none", annual, annual / divisor, days, article,
                    provisional)


def _round(exact_fen: Decimal) -> int:
    return int(exact_fen.quantize(Decimal(1), rounding=ROUND_HALF_UP))
