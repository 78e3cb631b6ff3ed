"""Enterprises (identified by their unified social credit code) and their honours."""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from stdnum.cn import uscc as uscc_check
from stdnum.exceptions import ValidationError

from config.policy import Edition
from services.audit import chain as audit
from services.db.models import Enterprise, Honour, ReviewUnit, User
from services.errors import Conflict, Forbidden, InvalidInput, NotFound

_USCC_RULES = {
    "InvalidChecksum": "校验码不符",
    "InvalidLength": "长度应为 18 位",
    "InvalidFormat": "含有不允许的字符",
    "InvalidComponent": "登记管理部门码、机构类别码或行政区划码无效",
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_UNIT_CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")


def _text(value: str | None, field: str, limit: int) -> str | None:
    """Trimmed text (None when blank); InvalidInput for control characters or more than `limit` characters."""
    text = (value or "").strip()
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise InvalidInput(field, "含有不可用的控制字符")
    if len(text) > limit:
        raise InvalidInput(field, f"最多 {limit} 个字符")
    return text or None


def _active(unit: ReviewUnit, today: date) -> bool:
    return (unit.valid_from is None or unit.valid_from <= today) and (
        unit.valid_until is None or today <= unit.valid_until)


def active_units(session: Session, *, today: date) -> list[ReviewUnit]:
    """The review units an enterprise can be registered with today (merged units are not offered)."""
    return [u for u in session.scalars(select(ReviewUnit).order_by(ReviewUnit.code)) if _active(u, today)]


def clean_uscc(value: str) -> str:
    """The credit code, normalised, or InvalidInput naming the rule it breaks (GB 32100-2015)."""
    try:
        return str(uscc_check.validate(value))
    except ValidationError as exc:
        why = _USCC_RULES.get(type(exc).__name__, "格式不符")
        raise InvalidInput("uscc", f"统一社会信用代码无效（GB 32100-2015）：{why}") from exc


def register(session: Session, *, uscc: str, name: str, review_unit_code: str, email: str | None,
             actor: str, now: datetime, today: date) -> Enterprise:
    """Register an enterprise with the review unit it is registered with."""
    code = clean_uscc(uscc)
    name = _text(name, "name", 200) or ""
    if not name:
        raise InvalidInput("name", "企业名称不能为空")
    email = _text(email, "email", 200)
    if email is not None and not _EMAIL.fullmatch(email):
        raise InvalidInput("email", "电子邮箱格式无效")
    if not _UNIT_CODE.fullmatch(review_unit_code or ""):
        raise InvalidInput("review_unit", "请选择审核单位")
    unit = session.get(ReviewUnit, review_unit_code)
    if unit is None or not _active(unit, today):
        raise InvalidInput("review_unit", f"审核单位 {review_unit_code} 不存在或已撤并")
    if session.scalar(select(Enterprise.id).where(Enterprise.uscc == code)) is not None:
        raise Conflict(f"统一社会信用代码 {code} 已登记")
    ent = Enterprise(uscc=code, name=name, review_unit_code=review_unit_code, email=email, created_at=now)
    session.add(ent)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"统一社会信用代码 {code} 已登记") from exc
    audit.append(session, kind="enterprise.register", actor=actor, at=now,
                 payload={"enterprise": ent.id, "uscc": code, "name": ent.name, "unit": review_unit_code})
    return ent


def add_honour(session: Session, *, enterprise_id: int, honour_type: str, level: str, recognised_on: date,
               document_no: str, issuer: str | None, editions: list[Edition], actor: str,
               now: datetime, today: date | None = None) -> Honour:
    """Record an honour (a title with level, date and document number) for an enterprise.
    With `today`, a recognition date in the future is refused."""
    if session.get(Enterprise, enterprise_id) is None:
        raise NotFound(f"企业 #{enterprise_id} 不存在")
    if not any(honour_type in {h.code for h in ed.honour_types} for ed in editions):
        raise InvalidInput("honour_type", f"未知的荣誉类型 {honour_type}")
    if not any(level in {lv.code for lv in ed.levels} for ed in editions):
        raise InvalidInput("level", f"未知的级别 {level}")
    if today is not None and recognised_on > today:
        raise InvalidInput("recognised_on", "认定日期不能晚于今天")
    document_no = _text(document_no, "document_no", 120) or ""
    if not document_no:
        raise InvalidInput("document_no", "认定文件号不能为空")
    issuer = _text(issuer, "issuer", 120)
    honour = Honour(enterprise_id=enterprise_id, honour_type=honour_type, level=level,
                    recognised_on=recognised_on, document_no=document_no, issuer=issuer)
    session.add(honour)
    session.flush()
    audit.append(session, kind="honour.add", actor=actor, at=now,
                 payload={"enterprise": enterprise_id, "honour": honour.id, "type": honour_type,
                          "level": level, "recognised_on": recognised_on.isoformat(), "document_no": document_no})
    return honour


def register_for_user(session: Session, *, user: User, uscc: str, name: str, review_unit_code: str,
                      email: str | None, now: datetime, today: date) -> Enterprise:
    """An applicant without an enterprise registers it and becomes bound to it (both audited).
    A credit code already registered is a Conflict: binding to an existing enterprise is the admin's job."""
    if user.role != "applicant":
        raise Forbidden("只有申报单位用户可以登记企业")
    if user.enterprise_id is not None:
        raise Conflict("该账户已绑定企业，不能再登记")
    ent = register(session, uscc=uscc, name=name, review_unit_code=review_unit_code, email=email,
                   actor=user.username, now=now, today=today)
    bound = session.execute(update(User).where(User.id == user.id, User.enterprise_id.is_(None))
                            .values(enterprise_id=ent.id).execution_options(synchronize_session=False))
    if bound.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("该账户已绑定企业，不能再登记")
    user.enterprise_id = ent.id
    audit.append(session, kind="user.bind_enterprise", actor=user.username, at=now,
                 payload={"user": user.username, "enterprise": ent.id, "uscc": ent.uscc})
    return ent
