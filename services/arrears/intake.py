"""Registering arrears cases: one record (a complaint, or a ledger row) validated field by field,
with its statutory due date; the ledger import validates its rows with the same function.

A record is a mapping of field names to raw values (strings, or numbers and dates from XLSX). The
natural key of a case is (creditor credit code, debtor, contract number): the same debt twice is one
case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from services.arrears.cases import FIRST_TASK, FIRST_TASK_LANE, ArrearsRuntime
from services.arrears.registry import check_uscc
from services.arrears.rules import ArrearsRules, load_rules
from services.arrears.statute import KIND_NAMES, Terms, payment_due
from services.arrears.transfer import SOURCES, check_intake, handling_clock, parse_transfer
from services.audit import chain as audit
from services.db.models_arrears import ArrearsCase, ArrearsDebtor, ArrearsTask, ArrearsTransfer
from services.errors import Conflict, InvalidInput
from services.time.calendar import WorkingCalendar
from services.uow import UnitOfWork

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["COLUMNS", "REQUIRED", "Record", "check_limits", "parse_date", "parse_fen", "register", "validate"]

# field -> the column header in Chinese (the English field name is accepted as a header too)
COLUMNS: dict[str, str] = {
    "creditor_uscc": "债权企业统一社会信用代码",
    "creditor_name": "债权企业名称",
    "debtor_uscc": "债务人统一社会信用代码",
    "contract_no": "合同编号",
    "signed_on": "合同签订日期",
    "delivered_on": "交付日期",
    "accepted_on": "验收日期",
    "inspection_due_on": "约定检验验收期限届满日",
    "settled_on": "结算金额确认日期",
    "debtor_kind": "合同订立时债务人类型",
    "agreed_days": "约定付款期限（天）",
    "special_term_days": "法律规定的付款期限（天）",
    "special_term_basis": "规定付款期限的法律及条款",
    "agreed_rate": "约定逾期利率（年%）",
    "amount": "欠款金额（元）",
    "description": "备注",
}
REQUIRED = ("creditor_uscc", "creditor_name", "debtor_uscc", "contract_no", "signed_on", "delivered_on", "amount")
MAX_FEN = 10**15  # ten trillion yuan: anything above is a typo
#: Dates a ledger row may carry: the working-day calendar computes the holidays of a year it does not
#: know from the lunar calendar (lunardate, 1900-2099), and statutory periods are counted in it.
EARLIEST, LATEST = date(1900, 1, 1), date(2099, 12, 31)


@dataclass(frozen=True, slots=True)
class Record:
    """A validated case record, ready to insert."""

    creditor_uscc: str
    creditor_name: str
    debtor_id: int
    department_code: str
    contract_no: str
    signed_on: date
    delivered_on: date
    accepted_on: date | None
    agreed_days: int | None
    agreed_rate_ppm: int | None
    inspection_due_on: date | None
    settled_on: date | None
    debtor_kind: str
    special_term_days: int | None
    special_term_basis: str | None
    rules: str
    due_on: date
    claimed_fen: int
    description: str

    @property
    def key(self) -> tuple[str, int, str]:
        return self.creditor_uscc, self.debtor_id, self.contract_no


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_date(value: Any, field: str) -> date:
    """A date from a date cell or text YYYY-MM-DD (also YYYY/MM/DD) within EARLIEST..LATEST;
    InvalidInput otherwise."""
    day = _parse_date(value, field)
    if not EARLIEST <= day <= LATEST:
        raise InvalidInput(field, f"日期须在 {EARLIEST} 至 {LATEST} 之间：{day}")
    return day


def _parse_date(value: Any, field: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    text = _text(value).replace("/", "-")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(field, f"日期格式无效：{text!r}（应为 YYYY-MM-DD）") from exc


def parse_fen(value: Any, field: str) -> int:
    """A positive yuan amount (at most two decimals) as integer fen; InvalidInput otherwise."""
    if isinstance(value, bool):
        raise InvalidInput(field, "金额格式无效")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(_text(value).replace(",", ""))
    except InvalidOperation as exc:
        raise InvalidInput(field, f"金额格式无效：{_text(value)!r}（单位：元，最多两位小数）") from exc
    if not amount.is_finite():
        raise InvalidInput(field, "金额格式无效")
    if amount.adjusted() >= 20 or amount * 100 >= MAX_FEN:  # checked before scaling: 1e999999 * 100 overflows
        raise InvalidInput(field, f"金额须小于 {MAX_FEN // 100:,} 元")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise InvalidInput(field, "金额最多两位小数")
    if fen <= 0:
        raise InvalidInput(field, "金额须大于 0")
    return int(fen)


def _optional_int(value: Any, field: str) -> int | None:
    text = _text(value)
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) <= 0 or int(text) > 3650:
        raise InvalidInput(field, f"须为正整数天数：{text!r}")
    return int(text)


def _optional_rate_ppm(value: Any, field: str) -> int | None:
    if value is None or _text(value) == "":
        return None
    try:
        rate = Decimal(repr(value)) if isinstance(value, float) else Decimal(_text(value).rstrip("%"))
    except InvalidOperation as exc:
        raise InvalidInput(field, f"利率格式无效：{_text(value)!r}（年利率，百分数，如 4.35）") from exc
    if not rate.is_finite() or rate <= 0 or rate > 100:  # bounded before scaling: 1e999999 * 10000 overflows
        raise InvalidInput(field, "年利率须在 0 到 100 之间，最多四位小数")
    ppm = rate * 10_000
    if ppm != ppm.to_integral_value():
        raise InvalidInput(field, "年利率须在 0 到 100 之间，最多四位小数")
    return int(ppm)


def _short(value: Any, field: str, limit: int, *, required: bool = True) -> str:
    text = _text(value)
    if required and not text:
        raise InvalidInput(field, "不能为空")
    if len(text) > limit:
        raise InvalidInput(field, f"最多 {limit} 个字符")
    return text


def _code(value: Any, field: str) -> str:
    return check_uscc(value if isinstance(value, str) else _text(value), field)


def _name(value: Any, field: str) -> str:
    return _short(value, field, 200)


def _contract(value: Any, field: str) -> str:
    return _short(value, field, 80)


def _optional_date(value: Any, field: str) -> date | None:
    return parse_date(value, field) if _text(value) else None


def _description(value: Any, field: str) -> str:
    return _short(value, field, 2000, required=False)


def _basis(value: Any, field: str) -> str:
    return _short(value, field, 200, required=False)


# the debtor's kind at signing, by code or by its Chinese name; "sme": the regulation does not apply
_KINDS = {**{code: code for code in (*KIND_NAMES, "sme")}, **{name: code for code, name in KIND_NAMES.items()},
          "团体组织": "organisation", "中小企业": "sme"}


def _kind(value: Any, field: str) -> str | None:
    text = _text(value)
    if not text:
        return None
    if text not in _KINDS:
        raise InvalidInput(field, f"须为 {'、'.join(KIND_NAMES.values())} 或 中小企业 之一")
    return _KINDS[text]


_CHECKS: tuple[tuple[str, Callable[[Any, str], Any]], ...] = (
    ("creditor_uscc", _code), ("creditor_name", _name), ("debtor_uscc", _code), ("contract_no", _contract),
    ("signed_on", parse_date), ("delivered_on", parse_date), ("accepted_on", _optional_date),
    ("agreed_days", _optional_int), ("agreed_rate", _optional_rate_ppm), ("amount", parse_fen),
    ("description", _description), ("inspection_due_on", _optional_date), ("settled_on", _optional_date),
    ("debtor_kind", _kind), ("special_term_days", _optional_int), ("special_term_basis", _basis),
)
_REQUIRED = frozenset(REQUIRED)


def validate(raw: Mapping[str, Any], *, debtors: Mapping[str, ArrearsDebtor], rules: ArrearsRules,
             calendar: WorkingCalendar) -> tuple[Record | None, list[tuple[str, str]]]:
    """Check every field of one record; returns the record, or None and every (field, rule) broken."""
    errors: list[tuple[str, str]] = []
    values: dict[str, Any] = {}
    for field, check in _CHECKS:
        value = raw.get(field)
        if field in _REQUIRED and (value is None or value == "" or (isinstance(value, str) and not value.strip())):
            errors.append((field, "必填"))
            continue
        try:
            values[field] = check(value, field)
        except InvalidInput as exc:
            errors.append((field, exc.rule))
    debtor = debtors.get(values["debtor_uscc"]) if "debtor_uscc" in values else None
    if "debtor_uscc" in values and debtor is None:
        errors.append(("debtor_uscc", f"债务人 {values['debtor_uscc']} 未在债务人名录中登记"))
    if errors or debtor is None:
        return None, errors
    kind = values["debtor_kind"] or debtor.kind  # 2025 第三条第二款: the kind at signing
    terms = Terms(accepted_on=values["accepted_on"], inspection_due_on=values["inspection_due_on"],
                  settled_on=values["settled_on"], agreed_days=values["agreed_days"],
                  special_days=values["special_term_days"], special_basis=values["special_term_basis"])
    try:
        due = payment_due(rules, calendar, kind=kind, signed_on=values["signed_on"],
                          delivered_on=values["delivered_on"], terms=terms)
    except InvalidInput as exc:
        return None, [(exc.field, exc.rule)]
    return Record(creditor_uscc=values["creditor_uscc"], creditor_name=values["creditor_name"], debtor_id=debtor.id,
                  department_code=debtor.department_code, contract_no=values["contract_no"],
                  signed_on=values["signed_on"], delivered_on=values["delivered_on"],
                  accepted_on=values["accepted_on"], agreed_days=values["agreed_days"],
                  agreed_rate_ppm=values["agreed_rate"], rules=due.edition, due_on=due.due_on,
                  claimed_fen=values["amount"], description=values["description"],
                  inspection_due_on=values["inspection_due_on"], settled_on=values["settled_on"], debtor_kind=kind,
                  special_term_days=values["special_term_days"],
                  special_term_basis=values["special_term_basis"] or None), []


def check_limits(services: Services, rules: ArrearsRules | None = None) -> None:
    """Refuse settings that give more working days than the law allows (ValueError names the setting)."""
    rules = rules or load_rules()
    limits = services.settings.stage_limits
    for stage, statutory in (("arrears_acceptance", rules.acceptance_working_days),
                             ("arrears_transfer", rules.transfer_working_days)):
        if limits.get(stage, 0) > statutory:
            raise ValueError(f"setting stage_limits.{stage} = {limits[stage]} exceeds the statutory "
                             f"{statutory} working days ({rules.complaints_source})")


def case_row(record: Record, *, source: str, import_id: int | None, actor: str, now: datetime) -> dict[str, Any]:
    """The column values of a new, registered case (for ORM objects and bulk inserts alike)."""
    return {
        "source": source, "import_id": import_id, "creditor_uscc": record.creditor_uscc,
        "creditor_name": record.creditor_name, "debtor_id": record.debtor_id,
        "department_code": record.department_code, "contract_no": record.contract_no,
        "signed_on": record.signed_on, "delivered_on": record.delivered_on, "accepted_on": record.accepted_on,
        "agreed_days": record.agreed_days, "agreed_rate_ppm": record.agreed_rate_ppm, "rules": record.rules,
        "inspection_due_on": record.inspection_due_on, "settled_on": record.settled_on,
        "debtor_kind": record.debtor_kind, "special_term_days": record.special_term_days,
        "special_term_basis": record.special_term_basis,
        "due_on": record.due_on, "claimed_fen": record.claimed_fen, "found_fen": None, "confirmed_fen": None,
        "disputed_fen": 0, "dispute_status": None, "repaid_fen": 0, "status": "registered",
        "stage": FIRST_TASK[0], "stage_name": FIRST_TASK[1], "cooperation_level": 0,
        "description": record.description, "instance_id": None, "registered_at": now, "registered_by": actor,
        "updated_at": now, "closed_at": None,
    }


def first_task_row(case_id: int, department_code: str, *, due_at: datetime, provisional: bool,
                   now: datetime) -> dict[str, Any]:
    """The placeholder of the acceptance review of a registered case (adopted when the route starts)."""
    return {"case_id": case_id, "instance_id": None, "task_id": None, "task_spec": FIRST_TASK[0],
            "name": FIRST_TASK[1], "role": FIRST_TASK_LANE, "department_code": department_code, "status": "open",
            "created_at": now, "due_at": due_at, "due_provisional": provisional, "overdue": False,
            "escalation_level": 0, "completed_at": None, "completed_by": None, "outcome": None, "reason": None}


def register(uow: UnitOfWork, services: Services, *, record: Mapping[str, Any], actor: str,
             now: datetime) -> ArrearsCase:
    """Register a complaint or a ledger row (one transaction; the caller commits).

    `record["intake"]` says how it reached the city (services.arrears.transfer): a provincial transfer
    starts the route at the handling department, its period counted from the day the materials were
    received; a complaint under the local arrangement, or a ledger row, awaits the acceptance review.
    """
    session = uow.session
    rules = load_rules()
    check_limits(services, rules)
    kind = check_intake(record, services)
    debtor_code = _text(record.get("debtor_uscc")).upper()
    debtors = {d.uscc: d for d in session.scalars(select(ArrearsDebtor).where(ArrearsDebtor.uscc == debtor_code))}
    valid, errors = validate(record, debtors=debtors, rules=rules, calendar=services.calendar)
    if valid is None:
        field, rule = errors[0]
        raise InvalidInput(field, rule)
    moved = parse_transfer(record, today=now.astimezone(ZoneInfo(services.settings.timezone)).date()) \
        if kind == "province" else None
    existing = session.scalar(select(ArrearsCase.id).where(
        ArrearsCase.creditor_uscc == valid.creditor_uscc, ArrearsCase.debtor_id == valid.debtor_id,
        ArrearsCase.contract_no == valid.contract_no))
    if existing is not None:
        raise Conflict(f"同一债权企业、债务人、合同的欠款已登记为案件 {existing}")
    case = ArrearsCase(**case_row(valid, source=SOURCES[kind], import_id=None, actor=actor, now=now))
    session.add(case)
    session.flush()
    payload: dict[str, Any] = {
        "case": case.id, "source": case.source, "creditor": case.creditor_uscc, "debtor": case.debtor_id,
        "contract": case.contract_no, "claimed_fen": case.claimed_fen, "due_on": case.due_on.isoformat(),
        "rules": case.rules}
    if kind == "arrangement":
        payload["arrangement"] = services.settings.arrears_acceptance_arrangement
    if moved is None:
        due = services.stage_deadline("arrears_acceptance", now)
        session.add(ArrearsTask(**first_task_row(case.id, case.department_code, due_at=due,
                                                 provisional=services.deadline_is_provisional(now, due), now=now)))
        audit.append(session, kind="arrears.register", actor=actor, at=now, payload=payload)
        return case
    session.add(ArrearsTransfer(case_id=case.id, transfer_from=moved.transfer_from, document_no=moved.document_no,
                                complaint_accepted_on=moved.accepted_on, transferred_on=moved.transferred_on,
                                received_on=moved.received_on, recorded_at=now, recorded_by=actor))
    payload["transfer"] = {"from": moved.transfer_from, "document_no": moved.document_no,
                           "accepted_on": moved.accepted_on.isoformat(),
                           "transferred_on": moved.transferred_on.isoformat(),
                           "received_on": moved.received_on.isoformat()}
    audit.append(session, kind="arrears.register", actor=actor, at=now, payload=payload)
    clock = handling_clock(services, rules, received=moved.received_on, accepted=moved.accepted_on)
    ArrearsRuntime(services).start(uow, case=case, actor=actor, now=now,
                                   data={"complaint_accepted_on": moved.accepted_on.isoformat(), **clock})
    return case
