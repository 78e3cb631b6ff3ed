"""Pages of the applicant (申报单位): the enterprise and its honours, open calls with what it may claim,
applying with supporting files, following and correcting its applications; file downloads for every
role that may see the application."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from app.web.api.applicant_models import IdPath
from app.web.deps import Principal, csrf_form, current_principal, get_services, get_uow
from app.web.errors import status_of
from app.web.pages.offers import offer_context
from app.web.templating import render
from app.web.uploads import download_response, read_uploads
from services.accounts.access import require_role
from services.awards import claims, enterprises, files, progress
from services.bootstrap import Services
from services.db.models import Enterprise, Honour, ReviewUnit
from services.errors import Conflict, InvalidInput, NotFound, SmeflowError
from services.uow import UnitOfWork

router = APIRouter()
STATUSES = ("running", "paid", "rejected")
NO_FILES = File(default_factory=list, alias="files")  # str: an empty file input (no file chosen)


def applicant_form(principal: Principal = Depends(csrf_form)) -> Principal:
    """A form post with a valid CSRF token, by an applicant (403 otherwise, before any field is read)."""
    require_role(principal.user, "applicant")
    return principal


ApplicantForm = Depends(applicant_form)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(field, "日期格式应为 YYYY-MM-DD") from None


def _int(value: str, field: str) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise InvalidInput(field, "请选择一项")
    return int(text)


# -- the enterprise --------------------------------------------------------------------------
TIERS = {3: "国家级", 2: "省级", 1: "市级"}


def level_label(name: str, rank: int) -> str:
    """One wording for every level: `国家级`, `省级（江西省）`, `市级（南昌市）`."""
    tier = TIERS.get(rank)
    return name if tier is None or name.endswith("级") else f"{tier}（{name}）"


@router.get("/enterprise")
def enterprise_page(request: Request, principal: Principal = Depends(current_principal),
                    uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """The enterprise with its honours; the registration form while the user has none."""
    user = principal.user
    require_role(user, "applicant")
    session = uow.session
    today = claims.local_today(services)
    edition = services.editions[0] if services.editions else None
    ctx: dict[str, Any] = {"enterprise": None, "honours": [], "unit": None, "edition": edition,
           "units": enterprises.active_units(session, today=today), "today": today}
    if user.enterprise_id is not None:
        ent = session.get_one(Enterprise, user.enterprise_id)
        ctx |= {"enterprise": ent, "unit": session.get(ReviewUnit, ent.review_unit_code),
                "honours": list(session.scalars(select(Honour).where(Honour.enterprise_id == ent.id)
                                                .order_by(Honour.recognised_on.desc())))}
    kinds = {h.code: h.name_zh for ed in services.editions for h in ed.honour_types}
    ranked = {lv.code: lv for ed in services.editions for lv in ed.levels}
    levels = {lv.code: level_label(lv.name_zh, lv.rank)  # highest first: 国家级, 省级（江西省）, 市级（南昌市）
              for lv in sorted(ranked.values(), key=lambda lv: -lv.rank)}
    return render(request, "applicant/enterprise.html", {**ctx, "kinds": kinds, "levels": levels,
                                                         "ok": request.query_params.get("ok")})


@router.post("/enterprise")
def register_enterprise(uscc: str = Form(""), name: str = Form(""), review_unit: str = Form(""),
                        email: str = Form(""), principal: Principal = ApplicantForm,
                        uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """Register the user's enterprise and bind the user to it."""
    enterprises.register_for_user(uow.session, user=principal.user, uscc=uscc, name=name,
                                  review_unit_code=review_unit, email=email or None, now=services.clock.now(),
                                  today=claims.local_today(services))
    uow.commit()
    return _see_other("/enterprise?ok=registered")


@router.post("/enterprise/honours")
def add_honour(honour_type: str = Form(""), level: str = Form(""), recognised_on: str = Form(""),
               document_no: str = Form(""), issuer: str = Form(""), principal: Principal = ApplicantForm,
               uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """Record an honour of the user's enterprise."""
    user = principal.user
    enterprises.add_honour(uow.session, enterprise_id=claims.bound_enterprise(user), honour_type=honour_type,
                           level=level, recognised_on=_date(recognised_on, "recognised_on"), document_no=document_no,
                           issuer=issuer or None, editions=services.editions, actor=user.username,
                           now=services.clock.now(), today=claims.local_today(services))
    uow.commit()
    return _see_other("/enterprise?ok=honour")


# -- calls and applying ----------------------------------------------------------------------
@router.get("/calls")
def calls_page(request: Request, principal: Principal = Depends(current_principal),
               uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """Open calls, each award with its cap and whether the enterprise may claim it, or why not."""
    if principal.user.role == "applicant" and principal.user.enterprise_id is None:
        return _see_other("/enterprise")
    enterprise_id = claims.bound_enterprise(principal.user)
    offers = claims.claimable(uow.session, services, enterprise_id=enterprise_id,
                              today=claims.local_today(services))
    return render(request, "applicant/calls.html", {"offers": offers})


def _offer(uow: UnitOfWork, services: Services, enterprise_id: int, call_id: int,
           award: str) -> tuple[claims.CallOffer, claims.AwardOffer]:
    offers = claims.claimable(uow.session, services, enterprise_id=enterprise_id, today=claims.local_today(services))
    call = next((o for o in offers if o.call_id == call_id), None)
    if call is None:
        raise NotFound(f"申报批次 #{call_id} 当前不受理申报")
    offer = next((a for a in call.awards if a.code == award), None)
    if offer is None:
        raise NotFound(f"申报批次 #{call_id} 不受理该奖励类型")
    return call, offer


def _apply_form(request: Request, uow: UnitOfWork, services: Services, principal: Principal, call_id: int,
                award: str, *, form: dict[str, str] | None = None, error: SmeflowError | None = None) -> Response:
    call, offer = _offer(uow, services, claims.bound_enterprise(principal.user), call_id, award)
    honours = {h.id: h for h in uow.session.scalars(select(Honour).where(Honour.id.in_(offer.honour_ids)))}
    return render(request, "applicant/apply.html", {
        "call": call, "offer": offer, "honours": [honours[i] for i in offer.honour_ids if i in honours],
        "max_files": services.settings.upload_max_files,
        "max_mib": services.settings.upload_max_bytes / (1024 * 1024),
        "form": form or {}, "error": error.message if error else None,
        "error_field": error.field if isinstance(error, InvalidInput) else None,
        "error_rule": error.rule if isinstance(error, InvalidInput) else None,
    }, status_code=status_of(error) if error else 200)


@router.get("/calls/{call_id}/apply")
def apply_page(request: Request, call_id: IdPath, award: str = "", principal: Principal = Depends(current_principal),
               uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """The application form for one award of an open call."""
    return _apply_form(request, uow, services, principal, call_id, award)


@router.post("/calls/{call_id}/apply")
def apply(request: Request, call_id: IdPath, award: str = Form(""), honour_id: str = Form(""),
          requested_yuan: str = Form(""), description: str = Form(""), files_: list[UploadFile | str] = NO_FILES,
          principal: Principal = ApplicantForm, uow: UnitOfWork = Depends(get_uow),
          services: Services = Depends(get_services)) -> Response:
    """Apply with supporting files: application, documents and the start of its case in one transaction.
    Refused (over the cap or the request, a bad file, ...): the form again with the message, the field
    marked and what was typed kept (the files must be chosen again: a browser never refills them)."""
    try:
        uploads = read_uploads(files_, services.settings)
        app = claims.apply(uow, services, user=principal.user, call_id=call_id, award_type_code=award,
                           honour_id=_int(honour_id, "honour_id"), requested_fen=claims.parse_amount(requested_yuan),
                           description=description, uploads=uploads, now=services.clock.now())
        uow.commit()
    except (InvalidInput, Conflict) as exc:
        uow.session.rollback()
        form = {"honour_id": honour_id[:40], "requested_yuan": requested_yuan[:40], "description": description[:5000]}
        return _apply_form(request, uow, services, principal, call_id, award, form=form, error=exc)
    return _see_other(f"/my/applications/{app.id}?ok=submitted")


# -- following applications ------------------------------------------------------------------
@router.get("/my")
def my_applications(request: Request, status: str = "", principal: Principal = Depends(current_principal),
                    uow: UnitOfWork = Depends(get_uow)) -> Response:
    """The enterprise's applications with stage, deadline and status; filter by status."""
    user = principal.user
    require_role(user, "applicant")
    if user.enterprise_id is None:
        return _see_other("/enterprise")
    rows = progress.applications(uow.session, user)
    if status in STATUSES:
        rows = [r for r in rows if r.status == status]
    return render(request, "applicant/my.html", {"rows": rows, "status": status, "statuses": STATUSES,
                                                 **offer_context(request, uow.session, user)})


def _application_page(request: Request, uow: UnitOfWork, services: Services, principal: Principal,
                      application_id: int, *, error: SmeflowError | None = None, where: str = "",
                      description: str | None = None) -> Response:
    detail = progress.detail(uow.session, principal.user, application_id)
    return render(request, "applicant/application.html", {
        "d": detail, "ok": request.query_params.get("ok"), "max_files": services.settings.upload_max_files,
        "max_mib": services.settings.upload_max_bytes / (1024 * 1024),
        "error": error.message if error else None, "error_where": where, "typed_description": description,
    }, status_code=status_of(error) if error else 200)


@router.get("/my/applications/{application_id}")
def application_page(request: Request, application_id: IdPath, principal: Principal = Depends(current_principal),
                     uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """One application: stage and deadline, decisions with reasons, files, and the correction form."""
    return _application_page(request, uow, services, principal, application_id)


@router.post("/my/applications/{application_id}/resubmit")
def resubmit(request: Request, application_id: IdPath, description: str = Form(""),
             files_: list[UploadFile | str] = NO_FILES, principal: Principal = ApplicantForm,
             uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """Correct a returned application and resubmit it to the district check. Refused: the page again
    with the message beside the form and the description as typed (files to choose again)."""
    try:
        uploads = read_uploads(files_, services.settings)
        claims.resubmit(uow, services, user=principal.user, application_id=application_id,
                        description=description, uploads=uploads, now=services.clock.now())
        uow.commit()
    except (InvalidInput, Conflict) as exc:
        uow.session.rollback()
        return _application_page(request, uow, services, principal, application_id, error=exc, where="correct",
                                 description=description[:5000])
    return _see_other(f"/my/applications/{application_id}?ok=resubmitted")


@router.post("/my/applications/{application_id}/documents")
def add_documents(request: Request, application_id: IdPath, files_: list[UploadFile | str] = NO_FILES,
                  principal: Principal = ApplicantForm, uow: UnitOfWork = Depends(get_uow),
                  services: Services = Depends(get_services)) -> Response:
    """Add supporting files before the first decision. Refused: the page again with the message."""
    try:
        uploads = read_uploads(files_, services.settings)
        claims.add_documents(uow, services, user=principal.user, application_id=application_id, uploads=uploads,
                             now=services.clock.now())
        uow.commit()
    except (InvalidInput, Conflict) as exc:
        uow.session.rollback()
        return _application_page(request, uow, services, principal, application_id, error=exc, where="documents")
    return _see_other(f"/my/applications/{application_id}?ok=documents")


@router.get("/documents/{document_id}")
def download(document_id: IdPath, principal: Principal = Depends(current_principal),
             uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> Response:
    """A supporting file, for anyone who may see its application (404 otherwise)."""
    doc = files.visible_document(uow.session, principal.user, document_id)
    return download_response(doc, files.read_content(services.settings.data_dir, doc))
