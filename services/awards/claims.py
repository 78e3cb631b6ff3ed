"""An enterprise's claims, as its applicant sees them: what it may claim in the open calls (and why
not), applying with supporting files, adding files, and correcting a returned application.

Every command works inside the caller's unit of work and leaves committing to the caller, so an
application, its documents and the start of its case commit together or not at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts.access import require_role, visible_application
from services.audit import chain as audit
from services.awards import applications, files, highest, tasks
from services.db.models import Application, Call, Document, Honour, User, WorkItem
from services.errors import Conflict, InvalidInput
from services.money import parse_yuan
from services.uow import UnitOfWork

if TYPE_CHECKING:
    from services.bootstrap import Services

CORRECTION = "correct_application"
DESCRIPTION_MAX = 5000
_YUAN = re.compile(r"[0-9][0-9,]{0,18}(\.[0-9]{1,2})?")  # no exponent: '1e9999999' must not reach Decimal


def local_today(services: Services) -> date:
    """Today in the authorities' time zone (a call's dates are local dates)."""
    return services.clock.now().astimezone(ZoneInfo(services.settings.timezone)).date()


def clean_description(text: str | None) -> str:
    """The description as stored: trimmed, bounded, without NUL characters."""
    value = (text or "").strip()
    if "\x00" in value:
        raise InvalidInput("description", "含有不可用的控制字符")
    if len(value) > DESCRIPTION_MAX:
        raise InvalidInput("description", f"申报说明不超过 {DESCRIPTION_MAX} 个字")
    return value


def parse_amount(text: str, field: str = "requested_yuan") -> int:
    """A yuan amount typed into a form, in fen (exact; no exponent notation)."""
    value = (text or "").strip()
    if not _YUAN.fullmatch(value):
        raise InvalidInput(field, "金额格式无效（单位：元，最多两位小数）")
    return parse_yuan(value, field)


def bound_enterprise(user: User) -> int:
    """The enterprise of an applicant user; Forbidden for other roles, Conflict if none is registered yet."""
    require_role(user, "applicant")
    if user.enterprise_id is None:
        raise Conflict("请先登记企业信息")
    return user.enterprise_id


# -- what the enterprise may claim -----------------------------------------------------------
@dataclass(frozen=True)
class AwardOffer:
    code: str
    name_zh: str
    measure: int
    cap_fen: int
    eligible: bool
    reason: str | None  # why not, when not eligible
    honour_ids: tuple[int, ...]  # honours that qualify for it
    application_id: int | None  # the enterprise's application for it, if any


@dataclass(frozen=True)
class CallOffer:
    call_id: int
    title: str
    opens_on: date
    closes_on: date
    edition_code: str
    awards: tuple[AwardOffer, ...]


def open_calls(session: Session, today: date) -> list[Call]:
    """Calls accepting applications today."""
    return list(session.scalars(select(Call).where(
        Call.closed_early.is_(False), Call.opens_on <= today, Call.closes_on >= today).order_by(Call.closes_on,
                                                                                                 Call.id)))


def claimable(session: Session, services: Services, *, enterprise_id: int, today: date) -> list[CallOffer]:
    """Open calls with each award: its cap, whether the enterprise may claim it, and why not otherwise.
    Eligible means an honour of the award's type and level recognised inside the edition's coverage,
    and no standing application that excludes it (the same award, or 就高不重复 within a measure)."""
    honours = list(session.scalars(select(Honour).where(Honour.enterprise_id == enterprise_id)))
    existing = list(session.scalars(select(Application).where(
        Application.enterprise_id == enterprise_id, Application.status.not_in(highest.ENDED)).order_by(Application.id)))
    editions = {ed.code: ed for ed in services.editions}
    offers = []
    for call in open_calls(session, today):
        edition = editions.get(call.edition_code)
        if edition is None:
            continue
        awards = []
        for code in call.award_types:
            award = next((a for a in edition.award_types if a.code == code), None)
            if award is None:
                continue
            kind = [h for h in honours if (h.honour_type, h.level) == (award.honour_type, award.level)]
            good = tuple(h.id for h in kind if edition.covers(h.recognised_on))
            same = next((a for a in existing if a.award_type_code == code), None)
            measure = {a.code for a in edition.award_types if a.measure == award.measure}
            cap, why = highest.remaining_cap(edition, award, highest.held_in_measure(session, enterprise_id, measure),
                                             highest_only=services.settings.honours_highest_only,
                                             after_paid=services.settings.higher_award_after_lower_paid)
            reason = None
            if not kind:
                reason = (f"尚未登记所需荣誉：{edition.honour_type(award.honour_type).name_zh}"
                          f"（{edition.level(award.level).name_zh}）")
            elif not good:
                reason = (f"荣誉认定日期不在政策适用范围 {edition.coverage_from} 至 {edition.in_force_until} 内")
            elif same is not None:
                reason = f"已申报（申报号 {same.id}），同一奖励只能申报一次"
            elif cap <= 0:
                reason = why
            awards.append(AwardOffer(code, award.name_zh, award.measure, cap, reason is None, reason,
                                     good, same.id if same else None))
        offers.append(CallOffer(call.id, call.title, call.opens_on, call.closes_on, call.edition_code,
                                tuple(awards)))
    return offers


# -- commands --------------------------------------------------------------------------------
def apply(uow: UnitOfWork, services: Services, *, user: User, call_id: int, award_type_code: str, honour_id: int,
          requested_fen: int, description: str, uploads: list[files.Upload], now: datetime) -> Application:
    """Apply for an award with supporting files: the files are checked first, then the application
    starts its route, then the files are stored and recorded (caller commits)."""
    enterprise_id = bound_enterprise(user)
    text = clean_description(description)
    checked = files.check_uploads(uploads, max_bytes=services.settings.upload_max_bytes,
                                  max_files=services.settings.upload_max_files)
    application = applications.apply(uow, services, call_id=call_id, enterprise_id=enterprise_id,
                                     award_type_code=award_type_code, honour_id=honour_id,
                                     requested_fen=requested_fen, description=text, actor=user.username,
                                     now=now, today=local_today(services))
    files.attach(uow.session, application=application, files=checked, data_dir=services.settings.data_dir,
                 actor=user.username, now=now)
    return application


def correction_item(session: Session, user: User, application: Application) -> WorkItem | None:
    """The open 'correct the application' work item of the user's enterprise, if the case waits on it."""
    if user.role != "applicant" or user.enterprise_id != application.enterprise_id:
        return None
    return session.scalars(select(WorkItem).where(
        WorkItem.application_id == application.id, WorkItem.status == "open", WorkItem.task_spec == CORRECTION,
        WorkItem.role == "applicant", WorkItem.enterprise_id == user.enterprise_id)).first()


def may_add_documents(session: Session, user: User, application: Application) -> bool:
    """Files may be added before anyone has decided on the application, or while it is returned for correction."""
    if user.role != "applicant" or user.enterprise_id != application.enterprise_id:
        return False
    if application.status != "running":
        return False
    if correction_item(session, user, application) is not None:
        return True
    decided = session.scalar(select(WorkItem.id).where(WorkItem.application_id == application.id,
                                                       WorkItem.status != "open").limit(1))
    return decided is None


def add_documents(uow: UnitOfWork, services: Services, *, user: User, application_id: int,
                  uploads: list[files.Upload], now: datetime) -> list[Document]:
    """Add supporting files to one of the enterprise's applications (caller commits)."""
    bound_enterprise(user)
    session = uow.session
    application = visible_application(session, user, application_id)
    if not may_add_documents(session, user, application):
        raise Conflict("只能在首次审核之前或退回补正期间补充材料")
    if not uploads:
        raise InvalidInput(files.FIELD, "请选择要上传的文件")
    checked = files.check_uploads(uploads, max_bytes=services.settings.upload_max_bytes,
                                  max_files=services.settings.upload_max_files,
                                  already=files.count(session, application.id))
    return files.attach(session, application=application, files=checked, data_dir=services.settings.data_dir,
                        actor=user.username, now=now)


def resubmit(uow: UnitOfWork, services: Services, *, user: User, application_id: int, description: str | None,
             uploads: list[files.Upload], now: datetime) -> Application:
    """Correct a returned application (new description, more files) and resubmit it: the case goes back
    to the district check. One transaction (caller commits)."""
    bound_enterprise(user)
    session = uow.session
    application = visible_application(session, user, application_id)
    item = correction_item(session, user, application)
    if item is None:
        raise Conflict("该申报当前没有待补正的事项（可能已重新提交）")
    checked = files.check_uploads(uploads, max_bytes=services.settings.upload_max_bytes,
                                  max_files=services.settings.upload_max_files,
                                  already=files.count(session, application.id))
    if description is not None:
        text = clean_description(description)
        if text != application.description:
            application.description = text
            audit.append(session, kind="application.correct", actor=user.username, at=now,
                         instance_id=application.instance_id, application_id=application.id,
                         payload={"application": application.id, "description": text})
    files.attach(session, application=application, files=checked, data_dir=services.settings.data_dir,
                 actor=user.username, now=now)
    tasks.complete(uow, services, item_id=item.id, username=user.username, decision=tasks.Decision("resubmit"),
                   now=now)
    return application
