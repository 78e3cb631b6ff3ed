"""API routes of the year's round: policy editions (read; an admin validates and loads), the enterprise
pool (scoped like the pool page; the bureau imports recognition lists) and the awards offered without an
application (免申即享: the applicant answers its own offers; officers see their unit's).

Each route calls the same service function as its page and the CLI, so the checks are the same.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.web.deps import current_user, get_services, get_uow
from config.policy_check import MAX_FILE_BYTES, Issue
from services.accounts.access import require_role
from services.awards.claims import local_today
from services.bootstrap import Services
from services.db.models import User
from services.errors import SmeflowError
from services.policy import store
from services.pool import offer_views, responses
from services.pool.batches import ImportReport, import_list, require_importer
from services.pool.offers import after_import
from services.pool.views import PoolFilter, pool_rows
from services.uow import UnitOfWork

router = APIRouter(tags=["round"])
IdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
EDITION_READERS = ("admin", "bureau", "manager", "finance", "auditor")


# -- policy editions -----------------------------------------------------------------------------
class EditionOut(BaseModel):
    edition_code: str
    revision: int
    doc_no: str
    title: str
    in_force_from: date
    in_force_until: date
    state: str = Field(description="draft, in_force or expired (by today's date)")
    state_zh: str = Field(description="草案, 施行 or 失效")
    sha256: str
    filename: str
    loaded_at: datetime
    loaded_by: str
    latest: bool = Field(description="whether this is the edition's latest revision (the one new cases use)")


class IssueOut(BaseModel):
    field: str = Field(description="the key path in the file (`award_types[2].cap_fen`), or `file`")
    label: str = Field(description="the field's Chinese name (奖励类型第 3 项的奖励上限（分）)")
    rule: str


class CheckOut(BaseModel):
    ok: bool
    edition_code: str | None = None
    issues: list[IssueOut] = []


class LoadOut(BaseModel):
    stored: bool = Field(description="false: this exact file was already stored, nothing changed")
    edition: EditionOut


def _edition_out(r: store.RevisionRow, today: date) -> EditionOut:
    e, key = r.edition, store.state(r.edition, today)
    return EditionOut(edition_code=e.code, revision=e.revision, doc_no=e.doc_no, title=e.title,
                      in_force_from=e.in_force_from, in_force_until=e.in_force_until, state=key,
                      state_zh=store.STATES[key], sha256=e.sha256, filename=r.filename, loaded_at=r.loaded_at,
                      loaded_by=r.loaded_by, latest=r.latest)


def _issues(issues: list[Issue]) -> list[IssueOut]:
    return [IssueOut(field=i.field or "file", label=i.label, rule=i.rule) for i in issues]


@router.get("/policy/editions", response_model=list[EditionOut])
def list_editions(user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
                  services: Services = Depends(get_services)) -> list[EditionOut]:
    """Every stored revision of every edition, with its state by today's date."""
    require_role(user, *EDITION_READERS)
    today = local_today(services)
    return [_edition_out(r, today) for r in store.revisions(uow.session)]


@router.post("/policy/editions/check", response_model=CheckOut,
             responses={422: {"model": CheckOut, "description": "the file has problems (each listed)"}})
def check_edition(file: Annotated[UploadFile, File()], user: User = Depends(current_user),
                  uow: UnitOfWork = Depends(get_uow)) -> CheckOut | JSONResponse:
    """Check an edition file like `smeflow policy validate` (admin); nothing is stored."""
    require_role(user, "admin")
    issues, edition = store.validate(uow.session, file.file.read(MAX_FILE_BYTES + 1), file.filename or "edition.toml")
    if edition is None:
        return JSONResponse(CheckOut(ok=False, issues=_issues(issues)).model_dump(), status_code=422)
    return CheckOut(ok=True, edition_code=edition.code)


@router.post("/policy/editions", response_model=LoadOut, status_code=201,
             responses={422: {"model": CheckOut, "description": "refused: every problem listed, nothing stored"}})
def load_edition(file: Annotated[UploadFile, File()], user: User = Depends(current_user),
                 uow: UnitOfWork = Depends(get_uow),
                 services: Services = Depends(get_services)) -> LoadOut | JSONResponse:
    """Check and store an edition file as a new revision (admin), like `smeflow policy load`."""
    try:
        loaded = store.load_as(uow.session, user=user, raw=file.file.read(MAX_FILE_BYTES + 1),
                               name=(file.filename or "edition.toml")[:200], now=services.clock.now())
    except store.EditionRejected as exc:
        uow.session.rollback()
        return JSONResponse(CheckOut(ok=False, issues=_issues(exc.issues)).model_dump(), status_code=422)
    uow.after_commit(services.edition_cache.invalidate)
    uow.commit()
    today = local_today(services)
    row = next(_edition_out(r, today) for r in store.revisions(uow.session)
               if r.latest and r.edition.code == loaded.edition.code)
    out = LoadOut(stored=loaded.stored, edition=row)
    return out if loaded.stored else JSONResponse(out.model_dump(mode="json"), status_code=200)


# -- the enterprise pool -------------------------------------------------------------------------
class HonourOut(BaseModel):
    honour_type: str
    name_zh: str
    level_zh: str
    recognised_on: date
    document_no: str
    valid_until: date | None
    batch_id: int | None
    current: bool


class PoolEnterpriseOut(BaseModel):
    enterprise_id: int
    uscc: str
    name: str
    unit_code: str
    unit_name: str
    tier: str | None
    tier_zh: str | None
    honours: list[HonourOut]
    open_offers: int
    paid_fen: int


class PoolOut(BaseModel):
    total: int = Field(description="enterprises matching the filters (the list holds at most `limit`)")
    items: list[PoolEnterpriseOut]


class RowErrorOut(BaseModel):
    row: int
    column: str
    rule: str


class ImportOut(BaseModel):
    filename: str
    sha256: str
    rows: int
    created: int
    existing: int
    rejected: int
    enterprises_created: int
    names_flagged: int
    batch_id: int | None
    same_file_batch: int | None
    offers_made: int
    error_count: int
    errors: list[RowErrorOut]


@router.get("/pool", response_model=PoolOut)
def pool(tier: str = Query("", max_length=20), unit: str = Query("", max_length=40),
         q: str = Query("", max_length=60), limit: int = Query(500, ge=1, le=5000),
         user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
         services: Services = Depends(get_services)) -> PoolOut:
    """Enterprises by tier with their honours, open offers and awards paid (a district: its own unit)."""
    rows, total = pool_rows(uow.session, services, user=user,
                            filters=PoolFilter(tier=tier or None, unit=unit or None, q=q or None), limit=limit)
    return PoolOut(total=total, items=[PoolEnterpriseOut(
        enterprise_id=r.enterprise_id, uscc=r.uscc, name=r.name, unit_code=r.unit_code, unit_name=r.unit_name,
        tier=r.tier.code if r.tier else None, tier_zh=r.tier.name_zh if r.tier else None,
        honours=[HonourOut(honour_type=h.code, name_zh=h.name_zh, level_zh=h.level_zh, recognised_on=h.recognised_on,
                           document_no=h.document_no, valid_until=h.valid_until, batch_id=h.batch_id,
                           current=h.current) for h in r.honours],
        open_offers=r.open_offers, paid_fen=r.paid_fen) for r in rows])


def _import_out(report: ImportReport) -> ImportOut:
    return ImportOut(filename=report.filename, sha256=report.sha256, rows=report.rows, created=report.created,
                     existing=report.existing, rejected=report.rejected,
                     enterprises_created=report.enterprises_created, names_flagged=report.names_flagged,
                     batch_id=report.batch_id, same_file_batch=report.same_file_batch,
                     offers_made=report.offers_made, error_count=report.error_count,
                     errors=[RowErrorOut(row=e.row, column=e.column, rule=e.rule) for e in report.errors])


@router.post("/pool/imports", response_model=ImportOut, status_code=201,
             responses={422: {"model": ImportOut, "description": "refused rows (all or nothing unless partial)"}})
def import_recognition_list(file: Annotated[UploadFile, File()],
                                  partial: Annotated[bool, Form()] = False,
                                  user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
                                  services: Services = Depends(get_services)) -> ImportOut | JSONResponse:
    """Import an official recognition list (bureau, admin) as one batch; offers follow for open calls."""
    require_importer(user.role)
    content = file.file.read(services.settings.pool_import_max_bytes + 1)

    def work() -> ImportReport:
        report = import_list(uow, services, content=content, filename=file.filename or "list.csv",
                             actor=user.username, now=services.clock.now(), partial=partial, after=after_import)
        if report.batch_id is not None:
            uow.commit()
        else:
            uow.session.rollback()
        return report

    report = work()  # a plain route: FastAPI already runs it in its thread pool
    if report.batch_id is not None:
        return _import_out(report)
    # refused rows (nothing written), or nothing new (the same file again, every honour already known)
    code = 422 if report.error_count or report.unsafe else 200
    return JSONResponse(_import_out(report).model_dump(mode="json"), status_code=code)


# -- offers (免申即享) ----------------------------------------------------------------------------
class OfferOut(BaseModel):
    offer_id: int
    application_id: int
    call_id: int
    call_title: str
    award_type: str
    award_name: str
    enterprise_name: str
    state: str = Field(description="open, confirmed, lapsed or declined")
    state_zh: str
    confirm_by: datetime | None = Field(description="the confirmation step's deadline (open offers)")
    has_account: bool


class FiguresOut(BaseModel):
    call_id: int
    call_title: str
    unit_code: str
    unit_name: str
    made: int
    open: int
    confirmed: int
    lapsed: int
    declined: int


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bank_name: str = Field(max_length=100)
    account_name: str = Field(max_length=200)
    account_no: str = Field(max_length=60)
    accept_commitments: bool = Field(description="true: the enterprise accepts every commitment the call lists")


def _offer_out(v: offer_views.OfferView) -> OfferOut:
    return OfferOut(offer_id=v.offer.id, application_id=v.offer.application_id, call_id=v.offer.call_id,
                    call_title=v.call_title, award_type=v.offer.award_type_code, award_name=v.award_name,
                    enterprise_name=v.enterprise_name, state=v.state, state_zh=offer_views.STATE_NAMES[v.state],
                    confirm_by=v.confirm_by, has_account=v.has_account)


@router.get("/offers", response_model=list[OfferOut])
def offers(call: int | None = Query(None, ge=1, le=2**63 - 1), user: User = Depends(current_user),
           uow: UnitOfWork = Depends(get_uow)) -> list[OfferOut]:
    """An applicant: its enterprise's offers. Districts: their unit's; the bureau, managers: every unit's."""
    if user.role == "applicant":
        views = [v for v in offer_views.my_offers(uow.session, user) if call is None or v.offer.call_id == call]
    else:
        views = offer_views.unit_offers(uow.session, user, call_id=call)
    return [_offer_out(v) for v in views]


@router.get("/offers/figures", response_model=list[FiguresOut])
def offer_figures(call: int | None = Query(None, ge=1, le=2**63 - 1), user: User = Depends(current_user),
                  uow: UnitOfWork = Depends(get_uow)) -> list[FiguresOut]:
    """Offers made, awaiting, confirmed, lapsed and declined per call and district (scoped)."""
    return [FiguresOut(**vars(f)) for f in offer_views.figures(uow.session, user, call_id=call)]


def _respond(uow: UnitOfWork, services: Services, user: User, offer_id: int, decision: str,
             body: ConfirmIn | None) -> OfferOut:
    try:
        responses.respond(uow, services, user=user, offer_id=offer_id, decision=decision, now=services.clock.now(),
                          bank_name=body.bank_name if body else None, account_name=body.account_name if body else None,
                          account_no=body.account_no if body else None,
                          accept_commitments=bool(body and body.accept_commitments))
        uow.commit()
    except SmeflowError:
        uow.session.rollback()
        raise
    return next(_offer_out(v) for v in offer_views.my_offers(uow.session, user) if v.offer.id == offer_id)


@router.post("/offers/{offer_id}/confirm", response_model=OfferOut)
def confirm_offer(body: ConfirmIn, offer_id: IdPath, user: User = Depends(current_user),
                  uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> OfferOut:
    """The enterprise confirms its offer: the bank account for the payout and every commitment."""
    return _respond(uow, services, user, offer_id, "confirm", body)


@router.post("/offers/{offer_id}/decline", response_model=OfferOut)
def decline_offer(offer_id: IdPath, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
                  services: Services = Depends(get_services)) -> OfferOut:
    """The enterprise declines its offer: the case ends as 企业放弃."""
    return _respond(uow, services, user, offer_id, "decline", None)

