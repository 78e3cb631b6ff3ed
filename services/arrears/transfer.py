"""Who receives a complaint and when the handling clock starts (issue 14 item 1).

The regulation gives complaints to the 受理投诉部门, the provincial (or national) department in charge of
SME promotion (2025 第二十四条第一款; 2020 第十七条第一款), which transfers each accepted complaint to the
handling department (处理投诉部门) within 10 working days of accepting it (2025 第二十五条第一款; 2020: 及时).
So a complaint reaches the city in one of three ways, the case's `intake`:

* `province`: the acceptance department accepted and transferred it; the city records the transfer
  (who sent it, its document, the day it was accepted, the day it was sent, the day the handling
  department received the materials) and the route goes straight to the handling department, whose
  30 days run from that receipt (2025 第二十五条第二款);
* `arrangement`: the city bureau reviews and transfers complaints itself, acting for the province under
  a local arrangement: only when the setting `arrears_acceptance_arrangement` names that arrangement's
  document (it is not statute, and without it such a registration is refused);
* `ledger`: a row of the campaign ledger (专项行动台账, not a complaint), verified and assigned by the
  bureau in the same two steps (洪府办发〔2022〕109号 第10条).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from services.arrears.rules import ArrearsRules
from services.arrears.statute import period_end
from services.errors import InvalidInput
from services.labels import one_of

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["INTAKES", "INTAKE_COLUMNS", "SOURCES", "TRANSFER_FIELDS", "Transfer", "check_intake", "end_of",
           "handling_clock", "intake_of", "parse_transfer"]

# intake -> the case's stored `source`
SOURCES = {"province": "province", "arrangement": "complaint", "ledger": "ledger"}
INTAKES = {"province": "省级受理投诉部门转办", "arrangement": "本市依本地安排代为受理", "ledger": "专项行动台账"}
TRANSFER_FIELDS = ("transfer_from", "transfer_document", "complaint_accepted_on", "transferred_on", "received_on")
# the registration form's fields for the intake, with their labels (the ledger's columns are intake.COLUMNS)
INTAKE_COLUMNS = {"intake": "投诉来源", "transfer_from": "转办单位（受理投诉部门）",
                  "transfer_document": "转办文书文号", "complaint_accepted_on": "受理投诉部门受理日期",
                  "transferred_on": "转交日期", "received_on": "处理部门收到转办材料日期"}


@dataclass(frozen=True)
class Transfer:
    """A provincial transfer as the city recorded it."""

    transfer_from: str
    document_no: str
    accepted_on: date
    transferred_on: date
    received_on: date


def intake_of(source: str) -> str:
    """The intake of a stored case (its `source`)."""
    return next((k for k, v in SOURCES.items() if v == source), "arrangement")


def _text(raw: Mapping[str, Any], field: str, limit: int) -> str:
    value = str(raw.get(field) or "").strip()
    if not value:
        raise InvalidInput(field, "省级转办的投诉须填写此项")
    if len(value) > limit:
        raise InvalidInput(field, f"最多 {limit} 个字符")
    return value


def _day(raw: Mapping[str, Any], field: str) -> date:
    value = raw.get(field)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(raw, field, 10)
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(field, f"日期格式无效：{text!r}（应为 YYYY-MM-DD）") from exc


def check_intake(raw: Mapping[str, Any], services: Services) -> str:
    """The registration's intake; `arrangement` needs the setting (InvalidInput names the field)."""
    intake = str(raw.get("intake") or "").strip()
    if not intake:
        intake = "province" if any(raw.get(f) for f in TRANSFER_FIELDS) else "arrangement"
    if intake not in SOURCES:
        raise InvalidInput("intake", f"须为 {one_of(INTAKES)} 之一")
    if intake == "arrangement" and not services.settings.arrears_acceptance_arrangement:
        raise InvalidInput("intake", "本市未登记代省级受理投诉部门受理投诉的安排（设置 "
                                     "arrears_acceptance_arrangement）：投诉由省级受理投诉部门受理并转交后，"
                                     "按省级转办（intake=province）登记转办文书")
    return intake


def parse_transfer(raw: Mapping[str, Any], *, today: date) -> Transfer:
    """The transfer facts of a `province` registration, each checked (InvalidInput names the field)."""
    t = Transfer(transfer_from=_text(raw, "transfer_from", 200), document_no=_text(raw, "transfer_document", 120),
                 accepted_on=_day(raw, "complaint_accepted_on"), transferred_on=_day(raw, "transferred_on"),
                 received_on=_day(raw, "received_on"))
    if t.transferred_on < t.accepted_on:
        raise InvalidInput("transferred_on", f"转交日期不能早于受理投诉部门受理之日 {t.accepted_on}")
    if t.received_on < t.transferred_on:
        raise InvalidInput("received_on", f"收到转办材料之日不能早于转交日期 {t.transferred_on}")
    if t.received_on > today:
        raise InvalidInput("received_on", "收到转办材料之日不能晚于今天")
    return t


def end_of(day: date, tz: ZoneInfo) -> str:
    """The end of a local day (00:00 of the next day), as the UTC ISO string a timer reads."""
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return end.astimezone(ZoneInfo("UTC")).isoformat()


def handling_clock(services: Services, rules: ArrearsRules, *, received: date, accepted: date) -> dict[str, Any]:
    """The handling department's period, from the day it received the materials, under the edition in force
    on the day the complaint was accepted (the route's timers read handling_due / handling_ceiling)."""
    limits = rules.handling_for(accepted)
    if limits.statutory:
        days, longest, basis = limits.days, limits.max_days, limits.article
    else:
        s = services.settings
        days, longest = s.arrears_handling_days_without_statute, s.arrears_handling_max_days_without_statute
        basis = (f"{limits.article}只要求及时处理，未规定天数；按本市设置 arrears_handling_days_without_statute / "
                 "arrears_handling_max_days_without_statute 计")
    due, _ = period_end(services.calendar, received, days, roll=rules.roll_past_rest_days)
    ceiling, _ = period_end(services.calendar, received, longest, roll=rules.roll_past_rest_days)
    tz = ZoneInfo(services.settings.timezone)
    return {"received_on": received.isoformat(), "handling_due_on": due.isoformat(),
            "handling_ceiling_on": ceiling.isoformat(), "handling_due": end_of(due, tz),
            "handling_ceiling": end_of(ceiling, tz), "handling_days": days, "handling_max_days": longest,
            "handling_basis": basis}
