"""The city SME bureau's own supervision of a case (2025 第二十三条): letters of inquiry (函询), summons
(约谈), supervision (督办) and public notices (通报) by a 县级以上 department in charge of SME promotion.

These are the bureau's powers, not steps of the complaint route: the handling department's 督办书 and
its discretionary 约谈 and 通报 (第二十五条第三款) are steps of bpmn/arrears_case.bpmn. A bureau
measure is recorded here with its document number and its reason, in one transaction with its audit
event, and shown on the case page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select

from services.accounts.users import get_user
from services.arrears.registry import visible_case
from services.arrears.rules import load_rules
from services.audit import chain as audit
from services.db.models_arrears import ArrearsOversight
from services.errors import Forbidden, InvalidInput
from services.labels import one_of
from services.uow import UnitOfWork

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["KINDS", "measures_of", "record_measure"]

KINDS = {"inquiry": "函询", "summons": "约谈", "supervision": "督办", "notice": "通报"}


def record_measure(uow: UnitOfWork, services: Services, *, case_id: int, kind: str, document_no: str, reason: str,
                   actor: str, now: datetime) -> ArrearsOversight:
    """Record a measure of the bureau on a case (the caller commits)."""
    session = uow.session
    user = get_user(session, actor)
    if user.role != "bureau":
        raise Forbidden("第二十三条的函询、约谈、督办、通报由市中小企业局记录")
    case = visible_case(session, user, case_id)
    if kind not in KINDS:
        raise InvalidInput("kind", f"措施须为 {one_of(KINDS)} 之一")
    document_no, reason = document_no.strip(), reason.strip()
    if not document_no or len(document_no) > 120:
        raise InvalidInput("document_no", "须填写文号或记录编号，最多 120 个字符")
    if not reason or len(reason) > 2000:
        raise InvalidInput("reason", "须写明理由，最多 2000 个字符")
    article = load_rules().editions[-1].cite("第二十三条")
    row = ArrearsOversight(case_id=case.id, kind=kind, document_no=document_no, reason=reason,
                           acted_on=now.astimezone(ZoneInfo(services.settings.timezone)).date(), actor=actor,
                           created_at=now)
    session.add(row)
    session.flush()
    audit.append(session, kind="arrears.oversight", actor=actor, at=now, instance_id=case.instance_id,
                 payload={"case": case.id, "measure": kind, "document_no": document_no, "reason": reason,
                          "article": article})
    return row


def measures_of(uow: UnitOfWork, case_id: int) -> Sequence[ArrearsOversight]:
    """The bureau's measures on a case, oldest first (the caller has checked the case is visible)."""
    return uow.session.scalars(select(ArrearsOversight).where(ArrearsOversight.case_id == case_id)
                               .order_by(ArrearsOversight.id)).all()
