"""The debtor registry, the handling departments and who acts for them, and who may see which case.

Handling departments (处理部门): every review unit (district authority) for the debtors under its
administration, plus the city departments listed in config/arrears.toml. A user acts for a
department when an `ArrearsOfficer` row says so; a head (负责人) approves extensions.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.orm import Session

from services.arrears.rules import load_rules
from services.arrears.statute import KIND_NAMES
from services.audit import chain as audit
from services.db.models import Enterprise, ReviewUnit, User
from services.db.models_arrears import ArrearsCase, ArrearsDebtor, ArrearsOfficer, ArrearsTask
from services.errors import Conflict, InvalidInput, NotFound

__all__ = ["READ_ALL_ROLES", "add_debtor", "add_officer", "check_uscc", "department_names", "import_debtors",
           "list_debtors", "officer_departments", "scope_cases", "scope_tasks", "visible_case"]

SelectT = TypeVar("SelectT", bound="Select[*tuple[Any, ...]]")
READ_ALL_ROLES = frozenset({"bureau", "manager", "auditor", "admin"})
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_CACHE: dict[str, str | None] = {}


def _uscc_problem(code: str) -> str | None:
    if len(code) != 18:
        return "长度应为 18 位"
    if not code[:8].isdigit() or not code[:8].isascii() or any(c not in _INDEX for c in code[8:]):
        return "含有不允许的字符"
    total = sum(_INDEX[c] * w for c, w in zip(code, _WEIGHTS, strict=False))
    if code[-1] != _ALPHABET[(31 - total) % 31]:
        return "校验码不符"
    return None


def check_uscc(value: str, field: str = "uscc") -> str:
    """A credit code (GB 32100-2015: 18 characters, check character), normalised; InvalidInput otherwise.

    The same rules as python-stdnum's `stdnum.cn.uscc`, at a fraction of its cost (bulk imports).
    """
    code = value.replace(" ", "").replace("-", "").upper().strip()
    if code not in _USCC_CACHE:
        if len(_USCC_CACHE) > 200_000:
            _USCC_CACHE.clear()
        _USCC_CACHE[code] = _uscc_problem(code)
    problem = _USCC_CACHE[code]
    if problem is not None:
        raise InvalidInput(field, f"统一社会信用代码无效（GB 32100-2015）：{problem}")
    return code


def department_names(session: Session) -> dict[str, str]:
    """Every handling department: code -> name (review units first, then the city departments)."""
    suffix = {"district": "人民政府", "county": "人民政府", "development_zone": "管委会"}
    names = {u.code: u.name_zh + suffix.get(u.kind, "")
             for u in session.scalars(select(ReviewUnit).where(ReviewUnit.valid_until.is_(None))
                                      .order_by(ReviewUnit.code))}
    names.update({d.code: d.name for d in load_rules().departments})
    return names


def _department(session: Session, code: str, field: str = "department") -> str:
    code = code.strip()
    if code not in department_names(session):
        raise InvalidInput(field, f"处理部门 {code!r} 不存在（见 config/arrears.toml 与审核单位）")
    return code


def add_debtor(session: Session, *, uscc: str, name: str, kind: str, department: str, actor: str,
               now: datetime) -> ArrearsDebtor:
    """Register a debtor with its kind and handling department (one audit event)."""
    return _add_debtors(session, [(uscc, name, kind, department)], actor=actor, now=now)[0]


def _clean_debtor(session: Session, row: tuple[str, str, str, str], departments: dict[str, str]) -> dict[str, Any]:
    uscc, name, kind, department = (v.strip() for v in row)
    code = check_uscc(uscc)
    if not name or len(name) > 200:
        raise InvalidInput("name", "债务人名称不能为空，最多 200 个字符")
    if kind not in KIND_NAMES:
        raise InvalidInput("kind", f"债务人类型须为 {', '.join(KIND_NAMES)} 之一"
                                   "（机关、事业单位、大型企业、使用财政资金的团体组织）")
    if department not in departments:
        raise InvalidInput("department", f"处理部门 {department!r} 不存在")
    return {"uscc": code, "name": name, "kind": kind, "department_code": department}


def _add_debtors(session: Session, rows: Sequence[tuple[str, str, str, str]], *, actor: str,
                 now: datetime) -> list[ArrearsDebtor]:
    departments = department_names(session)
    cleaned = []
    for i, row in enumerate(rows, start=1):
        try:
            cleaned.append(_clean_debtor(session, row, departments))
        except InvalidInput as exc:
            raise InvalidInput(f"row {i}: {exc.field}" if len(rows) > 1 else exc.field, exc.rule) from exc
    codes = [c["uscc"] for c in cleaned]
    if len(set(codes)) != len(codes):
        raise InvalidInput("uscc", "同一文件中债务人统一社会信用代码重复")
    known = set(session.scalars(select(ArrearsDebtor.uscc).where(ArrearsDebtor.uscc.in_(codes))))
    if known:
        raise Conflict(f"债务人已登记：{', '.join(sorted(known))}")
    debtors = [ArrearsDebtor(created_at=now, **c) for c in cleaned]
    session.add_all(debtors)
    session.flush()
    audit.append(session, kind="arrears.debtor", actor=actor, at=now,
                 payload={"debtors": [[d.id, d.uscc, d.kind, d.department_code] for d in debtors]})
    return debtors


def import_debtors(session: Session, *, content: bytes, actor: str, now: datetime) -> list[ArrearsDebtor]:
    """Register debtors from CSV (uscc,name,kind,department with a header row); all or nothing."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("file", "债务人名录须为 UTF-8 编码的 CSV") from exc
    reader = csv.DictReader(io.StringIO(text))
    need = ["uscc", "name", "kind", "department"]
    if reader.fieldnames is None or any(k not in reader.fieldnames for k in need):
        raise InvalidInput("file", f"表头须包含 {','.join(need)}")
    rows = [tuple((r.get(k) or "") for k in need) for r in reader]
    if not rows:
        raise InvalidInput("file", "文件中没有债务人")
    return _add_debtors(session, rows, actor=actor, now=now)  # type: ignore[arg-type]


def list_debtors(session: Session) -> list[ArrearsDebtor]:
    return list(session.scalars(select(ArrearsDebtor).order_by(ArrearsDebtor.department_code, ArrearsDebtor.name)))


def add_officer(session: Session, *, username: str, department: str, head: bool, actor: str,
                now: datetime) -> ArrearsOfficer:
    """Let `username` act for a handling department (auditors cannot: they are read-only)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"没有用户名为 {username!r} 的用户")
    if user.role in ("auditor", "applicant"):
        raise InvalidInput("user", "审计员和申报人不能担任处理部门经办人")
    code = _department(session, department)
    row = session.scalar(select(ArrearsOfficer).where(ArrearsOfficer.user_id == user.id,
                                                      ArrearsOfficer.department_code == code))
    if row is None:
        row = ArrearsOfficer(user_id=user.id, department_code=code, head=head)
        session.add(row)
    row.head = head
    session.flush()
    audit.append(session, kind="arrears.officer", actor=actor, at=now,
                 payload={"user": username, "department": code, "head": head})
    return row


@dataclass(frozen=True)
class Desk:
    """What a user may do in the campaign: which departments they act for, and as head of which."""

    departments: frozenset[str]
    heads: frozenset[str]
    creditor_uscc: str | None  # an applicant sees the cases of their own enterprise


def officer_departments(session: Session, user: User) -> Desk:
    rows = session.execute(select(ArrearsOfficer.department_code, ArrearsOfficer.head)
                           .where(ArrearsOfficer.user_id == user.id)).all()
    uscc = None
    if user.role == "applicant" and user.enterprise_id is not None:
        uscc = session.scalar(select(Enterprise.uscc).where(Enterprise.id == user.enterprise_id))
    return Desk(frozenset(r[0] for r in rows), frozenset(r[0] for r in rows if r[1]), uscc)


def scope_cases(query: SelectT, user: User, desk: Desk) -> SelectT:
    """Limit an ArrearsCase query to what `user` may see (out of scope reads as not found)."""
    if user.role in READ_ALL_ROLES:
        return query
    if desk.departments:
        return query.where(ArrearsCase.department_code.in_(desk.departments))
    if desk.creditor_uscc is not None:
        return query.where(ArrearsCase.creditor_uscc == desk.creditor_uscc)
    return query.where(false())


def scope_tasks(query: SelectT, user: User, desk: Desk) -> SelectT:
    """Limit an ArrearsTask query to the user's inbox: the lanes they act in, for their departments."""
    clauses: list[ColumnElement[bool]] = []
    if user.role == "bureau":
        clauses.append(ArrearsTask.role.in_(("bureau", "complainant", "acceptance")))
    if desk.departments:
        clauses.append(ArrearsTask.role.in_(("handler", "debtor")) &
                       ArrearsTask.department_code.in_(desk.departments))
    if desk.creditor_uscc is not None:
        mine = select(ArrearsCase.id).where(ArrearsCase.creditor_uscc == desk.creditor_uscc)
        clauses.append((ArrearsTask.role == "complainant") & ArrearsTask.case_id.in_(mine))
    if not clauses:
        return query.where(false())
    return query.where(or_(*clauses))


def visible_case(session: Session, user: User, case_id: int) -> ArrearsCase:
    """The case if the user may see it; NotFound otherwise."""
    desk = officer_departments(session, user)
    case = session.scalars(scope_cases(select(ArrearsCase).where(ArrearsCase.id == case_id), user, desk)).first()
    if case is None:
        raise NotFound(f"清欠案件 #{case_id} 不存在")
    return case


def debtors_by_uscc(session: Session, codes: Iterable[str]) -> dict[str, ArrearsDebtor]:
    wanted = sorted(set(codes))
    found: dict[str, ArrearsDebtor] = {}
    for i in range(0, len(wanted), 1000):
        for d in session.scalars(select(ArrearsDebtor).where(ArrearsDebtor.uscc.in_(wanted[i:i + 1000]))):
            found[d.uscc] = d
    return found
