"""确权: an SME that finances a receivable (中小企业以应收账款融资) asks the debtor to confirm the debt, and
the debtor confirms the creditor-debtor relationship within 30 days of the request (2025 第十六条第二款;
2020 第十四条). A request of its own, recorded here with its due date; it is not a step of a complaint,
whose debtor reply period is the setting arrears_debtor_reply_days.

The article and the days come from the edition in force on the day of the request (config/arrears.toml);
the period starts the day after the request and a last day that is a rest day moves to the next working
day (民法典 第二百零一条、第二百零三条). Each request and each answer is one transaction with its audit
event. The bureau records them (the SME's request reaches it with the financing documents).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts.users import get_user
from services.arrears.intake import parse_date, parse_fen
from services.arrears.registry import READ_ALL_ROLES, check_uscc, department_names, officer_departments
from services.arrears.rules import load_rules
from services.arrears.statute import edition_for, period_end
from services.audit import chain as audit
from services.db.models import Enterprise, User
from services.db.models_arrears import ArrearsCase, ArrearsConfirmation, ArrearsDebtor, ArrearsOfficer
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.labels import one_of
from services.mail import outbox
from services.uow import UnitOfWork

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["OUTCOMES", "answer_confirmation", "confirmations_of_case", "open_confirmations", "remind_confirmations",
           "request_confirmation", "visible_confirmations"]

OUTCOMES = {"confirmed": "确认", "partial": "部分确认", "disputed": "不予确认"}


def _text(raw: Mapping[str, Any], field: str, limit: int) -> str:
    value = str(raw.get(field) or "").strip()
    if not value:
        raise InvalidInput(field, "必填")
    if len(value) > limit:
        raise InvalidInput(field, f"最多 {limit} 个字符")
    return value


def _bureau(uow: UnitOfWork, actor: str) -> None:
    if get_user(uow.session, actor).role not in ("bureau", "admin"):
        raise Forbidden("确权请求由市中小企业局登记")


def request_confirmation(uow: UnitOfWork, services: Services, *, record: Mapping[str, Any], actor: str,
                         now: datetime) -> ArrearsConfirmation:
    """Record an SME's 确权 request with the debtor's due date (the caller commits)."""
    _bureau(uow, actor)
    session = uow.session
    creditor = check_uscc(str(record.get("creditor_uscc") or ""), "creditor_uscc")
    creditor_name = _text(record, "creditor_name", 200)
    debtor_code = check_uscc(str(record.get("debtor_uscc") or ""), "debtor_uscc")
    debtor = session.scalar(select(ArrearsDebtor).where(ArrearsDebtor.uscc == debtor_code))
    if debtor is None:
        raise InvalidInput("debtor_uscc", f"债务人 {debtor_code} 未在债务人名录中登记")
    contract = _text(record, "contract_no", 80)
    amount = parse_fen(record.get("amount"), "amount")
    financing = _text(record, "financing", 200)
    requested = parse_date(record.get("requested_on"), "requested_on")
    today = now.astimezone(ZoneInfo(services.settings.timezone)).date()
    if requested > today:
        raise InvalidInput("requested_on", "确权请求日期不能晚于今天")
    rules = load_rules()
    edition = edition_for(rules, requested)
    if edition is None:
        raise InvalidInput("requested_on", f"请求早于条例施行（{rules.in_force_from}），不适用条例的确权期限")
    due, provisional = period_end(services.calendar, requested, edition.confirmation_days,
                                  roll=rules.roll_past_rest_days)
    row = ArrearsConfirmation(
        creditor_uscc=creditor, creditor_name=creditor_name, debtor_id=debtor.id, contract_no=contract,
        amount_fen=amount, financing=financing, requested_on=requested, due_on=due, due_provisional=provisional,
        article=edition.cite(edition.confirmation_article), created_at=now, created_by=actor)
    session.add(row)
    session.flush()
    audit.append(session, kind="arrears.confirmation", actor=actor, at=now,
                 payload={"request": row.id, "creditor": creditor, "debtor": debtor.id, "contract": contract,
                          "amount_fen": amount, "requested_on": requested.isoformat(), "due_on": due.isoformat(),
                          "article": row.article})
    return row


def answer_confirmation(uow: UnitOfWork, services: Services, *, request_id: int, outcome: str,
                        confirmed_amount: str | None, answered_on: str, actor: str,
                        now: datetime) -> ArrearsConfirmation:
    """Record the debtor's answer to a 确权 request (the caller commits)."""
    _bureau(uow, actor)
    session = uow.session
    row = session.get(ArrearsConfirmation, request_id)
    if row is None:
        raise NotFound(f"确权请求 {request_id} 不存在")
    if row.outcome is not None:
        raise Conflict(f"确权请求 {request_id} 已于 {row.answered_on} 答复，本次未作任何更改")
    if outcome not in OUTCOMES:
        raise InvalidInput("outcome", f"须为 {one_of(OUTCOMES)} 之一")
    day = parse_date(answered_on, "answered_on")
    today = now.astimezone(ZoneInfo(services.settings.timezone)).date()
    if day < row.requested_on or day > today:
        raise InvalidInput("answered_on", f"答复日期须在请求日 {row.requested_on} 与今天之间")
    confirmed = {"confirmed": row.amount_fen, "disputed": 0}.get(outcome)
    if outcome == "partial":
        confirmed = parse_fen(confirmed_amount, "confirmed_amount")
        if confirmed >= row.amount_fen:
            raise InvalidInput("confirmed_amount", "部分确认的金额须小于请求确认的金额")
    row.outcome, row.confirmed_fen, row.answered_on, row.answered_by = outcome, confirmed, day, actor
    audit.append(session, kind="arrears.confirmation_answer", actor=actor, at=now,
                 payload={"request": row.id, "outcome": outcome, "confirmed_fen": confirmed,
                          "answered_on": day.isoformat(), "late": day > row.due_on})
    return row


def open_confirmations(uow: UnitOfWork) -> Sequence[ArrearsConfirmation]:
    """Requests not answered yet, oldest due date first."""
    return uow.session.scalars(select(ArrearsConfirmation).where(ArrearsConfirmation.outcome.is_(None))
                               .order_by(ArrearsConfirmation.due_on, ArrearsConfirmation.id)).all()


def confirmations_of_case(session: Session, case: ArrearsCase) -> Sequence[ArrearsConfirmation]:
    """The 确权 requests about the same debt as `case` (same SME, debtor and contract), newest first."""
    return session.scalars(select(ArrearsConfirmation).where(
        ArrearsConfirmation.creditor_uscc == case.creditor_uscc, ArrearsConfirmation.debtor_id == case.debtor_id,
        ArrearsConfirmation.contract_no == case.contract_no).order_by(ArrearsConfirmation.id.desc())).all()


def _recipients(session: Session, row: ArrearsConfirmation, debtor: ArrearsDebtor) -> list[str]:
    """The debtor's handling department officers, the bureau, and the SME if it is a known enterprise."""
    officers = select(ArrearsOfficer.user_id).where(ArrearsOfficer.department_code == debtor.department_code)
    users = session.scalars(select(User.email).where(
        User.active.is_(True), User.email.is_not(None), (User.role == "bureau") | User.id.in_(officers))).all()
    sme = session.scalar(select(Enterprise.email).where(Enterprise.uscc == row.creditor_uscc))
    return sorted({e for e in [*users, sme] if e})


def remind_confirmations(services: Services, session: Session, *, now: datetime, today: date) -> int:
    """Queue one reminder for each unanswered 确权 request whose last day is within the setting
    arrears_confirmation_reminder_working_days working days (in the caller's transaction; idempotent)."""
    until, _ = services.calendar.add_working_days(today, services.settings.arrears_confirmation_reminder_working_days)
    rows = session.scalars(select(ArrearsConfirmation).where(
        ArrearsConfirmation.outcome.is_(None), ArrearsConfirmation.reminded_at.is_(None),
        ArrearsConfirmation.due_on >= today, ArrearsConfirmation.due_on <= until)
        .order_by(ArrearsConfirmation.due_on, ArrearsConfirmation.id)).all()
    names = department_names(session)
    sent = 0
    for row in rows:
        debtor = session.get_one(ArrearsDebtor, row.debtor_id)
        context = {"request_id": row.id, "creditor_name": row.creditor_name, "debtor_name": debtor.name,
                   "department_name": names.get(debtor.department_code, debtor.department_code),
                   "contract_no": row.contract_no, "amount_fen": row.amount_fen, "requested_on": row.requested_on,
                   "due_on": row.due_on, "provisional": row.due_provisional, "article": row.article,
                   "days_left": services.calendar.working_days_between(today, row.due_on)}
        mail = outbox.enqueue(session, to=_recipients(session, row, debtor), template="arrears_confirmation",
                              context=context, now=now, dedupe_key=f"arrears-confirmation:{row.id}")
        row.reminded_at = now
        sent += mail is not None
    return sent


def visible_confirmations(session: Session, user: User, *, only_open: bool = False,
                          request_id: int | None = None, limit: int = 500) -> Sequence[ArrearsConfirmation]:
    """The 确权 requests `user` may see: the city roles all, a handling department those of its debtors, an
    SME its own; open ones first by due date."""
    query = select(ArrearsConfirmation)
    if user.role not in READ_ALL_ROLES:
        desk = officer_departments(session, user)
        if desk.departments:
            debtors = select(ArrearsDebtor.id).where(ArrearsDebtor.department_code.in_(desk.departments))
            query = query.where(ArrearsConfirmation.debtor_id.in_(debtors))
        elif desk.creditor_uscc is not None:
            query = query.where(ArrearsConfirmation.creditor_uscc == desk.creditor_uscc)
        else:
            return []
    if only_open:
        query = query.where(ArrearsConfirmation.outcome.is_(None))
    if request_id is not None:
        query = query.where(ArrearsConfirmation.id == request_id)
    return session.scalars(query.order_by(ArrearsConfirmation.outcome.is_not(None), ArrearsConfirmation.due_on,
                                          ArrearsConfirmation.id).limit(limit)).all()
