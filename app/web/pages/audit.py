"""Pages: the auditor's views (auditors, managers and admins may read; nobody writes here).

/audit lists every case with the verification status of the audit chain and of the signed daily
head statements; /audit/cases/{id} shows one case's timeline and the path it took on its own
diagram version; /audit/cases/{id}/replay?step=N re-executes the case's history on that version
(services.audit.replay, nothing is written) and shows the verdict and the state after step N: open
tasks, timers, data, what changed, and the diagram with the path so far highlighted;
/audit/cases/{id}.json exports the history and /audit/cases/{id}/evidence the signed evidence bundle.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from app.web.deps import current_user, get_services, get_uow
from app.web.templating import render
from app.web.uploads import diagram_response
from services.audit import anchors, bundles, history, history_index, replay
from services.audit.replay_views import difference_dict, step_dict
from services.bootstrap import Services
from services.db.models import User
from services.engine.diagram_labels import diagram_nodes
from services.engine.names import process_name
from services.errors import InvalidInput, NotFound
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
def cases(request: Request, status: str = "", q: str = "", sort: str = "id", full: bool = False,
          user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
          services: Services = Depends(get_services)) -> Response:
    """Every case with its number of audit events, and whether the whole chain verifies (`full=1`:
    walk it whole now, instead of the latest full walk plus the events after it)."""
    rows = history_index.case_list(uow.session, user=user, status=status if status in STATUSES else None, q=q,
                             sort=sort if sort in SORTS else "id")
    chain = history_index.current_chain(uow, services, full=full)
    statements = anchors.verify(uow.session, key=services.settings.audit_key(), now=services.clock.now(),
                                timezone=services.settings.timezone)
    return render(request, "audit/cases.html", {"rows": rows, "chain": chain, "statements": statements,
                                                "status": status, "q": q, "sort": sort, "statuses": STATUSES,
                                                "sorts": SORTS})


@router.get("/audit/cases/{application_id:int}.json")
def export(application_id: AppId, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
           services: Services = Depends(get_services)) -> Response:
    """The case history as a JSON file (with the chain's status at export time)."""
    case = history.case_history(uow.session, user=user, application_id=application_id)
    body = history.as_dict(case, history_index.current_chain(uow, services).as_report())
    return Response(orjson.dumps(body, option=orjson.OPT_INDENT_2), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="case-{application_id}-history.json"'})


@router.get("/audit/cases/{application_id:int}/diagram.xml")
def diagram(application_id: AppId, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow)) -> Response:
    """The BPMN of the diagram version this case ran on, sandboxed like every stored diagram."""
    xml = history.definition_xml(uow.session, user=user, application_id=application_id)
    return diagram_response(xml)


@router.get("/audit/cases/{application_id:int}")
def case(request: Request, application_id: AppId, user: User = Depends(current_user),
         uow: UnitOfWork = Depends(get_uow)) -> Response:
    """One case's timeline: who, when, which task, decision, the data that changed; and its path."""
    found = history.case_history(uow.session, user=user, application_id=application_id)
    return render(request, "audit/case.html", {"case": found, "fields": FIELD_LABELS})


@router.get("/audit/cases/{application_id:int}/replay")
def replay_page(request: Request, application_id: AppId, step: Annotated[int | None, Query()] = None,
                user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
                services: Services = Depends(get_services)) -> Response:
    """Replay the case on its own diagram version and show the state after step `step` (default: the
    first differing step, else the last)."""
    result = replay.replay_case(uow, services, application_id=application_id, user=user)
    if not result.steps:
        raise InvalidInput("step", f"案件 #{application_id} 没有可回放的审计事件")
    if step is None:
        step = result.first.step if result.first is not None else len(result.steps)
    if not 1 <= step <= len(result.steps):
        raise InvalidInput("step", f"须在 1 到 {len(result.steps)} 之间（本案共 {len(result.steps)} 步）")
    shown = result.step(step)
    try:
        xml = history.definition_xml(uow.session, user=user, application_id=application_id)
    except NotFound:
        xml = b""
    name = process_name(xml, result.process_id) if xml and result.process_id else ""
    return render(request, "audit/replay.html", {
        "labels": diagram_nodes(xml).labels if xml else {}, "process_name": name,
        "result": result, "shown": shown, "fields": FIELD_LABELS, "data": step_dict(shown)["data"],
        "first": _difference(result.first) if result.first is not None else None,
        "here": [_difference(d) for d in result.differences if d.step == step],
        "open_counts": {t.spec: 1 for t in shown.open_tasks}})


def _difference(d: replay.Difference) -> dict[str, Any]:
    """A difference for the page: its JSON form, and its message in parts (ids in <code>)."""
    return {**difference_dict(d), "parts": d.parts}


@router.get("/audit/cases/{application_id:int}/evidence")
def evidence(application_id: AppId, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
             services: Services = Depends(get_services)) -> Response:
    """The case's sealed, signed evidence bundle (as `smeflow audit export`; checked offline by
    `smeflow audit check-bundle`)."""
    raw = bundles.bundle_bytes(uow, services, application_id=application_id, actor=user.username,
                               now=services.clock.now(), user=user)
    return Response(raw, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="case-{application_id}-evidence.json"'})
