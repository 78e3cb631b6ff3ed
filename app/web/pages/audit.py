"""Pages: the auditor's views (auditors, managers and admins may read; nobody writes here).

/audit lists every case with the audit chain's verification status; /audit/cases/{id} shows one
case's timeline and the path it took on its own diagram version; /audit/cases/{id}.json exports
the history as a file.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from app.web.deps import current_user, get_uow
from app.web.templating import render
from services import audit, history, history_index
from services.db.models import User
from services.uow import UnitOfWork


def reader_only(user: User = Depends(current_user)) -> User:
    """Audit pages: auditors, managers and admins (403 for anyone else)."""
    history.require_reader(user)
    return user


router = APIRouter(dependencies=[Depends(reader_only)])
STATUSES = history_index.STATUSES
AppId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SORTS = {"id": "编号", "updated": "最后更新", "status": "状态", "enterprise": "企业"}
FIELD_LABELS = {"decision": "决定", "reason": "理由", "award_amount_fen": "奖励金额", "payment_reference": "支付凭证号",
                "requested_fen": "申请金额", "cap_fen": "奖励上限", "application_id": "申报编号",
                "award_type": "奖励类型", "review_unit": "审核单位", "amount_fen": "金额", "reference": "凭证号"}


@router.get("/audit")
def cases(request: Request, status: str = "", q: str = "", sort: str = "id",
          user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow)) -> Response:
    """Every case with its number of audit events, and whether the whole chain verifies."""
    rows = history_index.case_list(uow.session, user=user, status=status if status in STATUSES else None, q=q,
                             sort=sort if sort in SORTS else "id")
    chain = history_index.chain_status(uow.session)
    return render(request, "audit/cases.html", {"rows": rows, "chain": chain, "status": status, "q": q,
                                                "sort": sort, "statuses": STATUSES, "sorts": SORTS})


@router.get("/audit/cases/{application_id:int}.json")
def export(application_id: AppId, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow)) -> Response:
    """The case history as a JSON file (with the chain's status at export time)."""
    case = history.case_history(uow.session, user=user, application_id=application_id)
    body = history.as_dict(case, audit.verify(uow.session))
    return Response(orjson.dumps(body, option=orjson.OPT_INDENT_2), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="case-{application_id}-history.json"'})


@router.get("/audit/cases/{application_id:int}/diagram.xml")
def diagram(application_id: AppId, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow)) -> Response:
    """The BPMN of the diagram version this case ran on."""
    xml = history.definition_xml(uow.session, user=user, application_id=application_id)
    return Response(xml, media_type="application/xml", headers={"X-Content-Type-Options": "nosniff"})


@router.get("/audit/cases/{application_id:int}")
def case(request: Request, application_id: AppId, user: User = Depends(current_user),
         uow: UnitOfWork = Depends(get_uow)) -> Response:
    """One case's timeline: who, when, which task, decision, the data that changed; and its path."""
    found = history.case_history(uow.session, user=user, application_id=application_id)
    return render(request, "audit/case.html", {"case": found, "fields": FIELD_LABELS})
