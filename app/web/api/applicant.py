"""API routes of the applicant: the enterprise and its honours, open calls with what it may claim,
applications (scoped to what the caller may see) with their supporting files."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, UploadFile, status
from fastapi.responses import Response

from app.web.api.applicant_models import (
    ApplicationIn,
    ApplicationOut,
    ApplicationRowOut,
    DocumentOut,
    EnterpriseIn,
    EnterpriseOut,
    HonourIn,
    HonourOut,
    IdPath,
    OpenCallOut,
    ResubmitIn,
    application_out,
    call_out,
    document_out,
    enterprise_out,
    honour_out,
    row_out,
)
from app.web.deps import current_user, get_services, get_uow
from app.web.uploads import download_response, read_uploads
from services.accounts.access import require_role
from services.awards import claims, enterprises, files, progress
from services.bootstrap import Services
from services.db.models import Enterprise, User
from services.errors import NotFound
from services.uow import UnitOfWork

router = APIRouter(tags=["applicant"])


def applicant_user(user: User = Depends(current_user)) -> User:
    """The caller, if an applicant (403 otherwise, before the body is even looked at)."""
    require_role(user, "applicant")
    return user


Applicant = Depends(applicant_user)
DOWNLOAD_TYPES: dict[str, Any] = {ctype: {} for ctype in files.SIGNATURES}


@router.get("/calls", response_model=list[OpenCallOut])
def list_calls(user: User = Applicant, uow: UnitOfWork = Depends(get_uow),
               services: Services = Depends(get_services)) -> list[OpenCallOut]:
    """Open calls, each award with its cap and whether the caller's enterprise may claim it (and why not)."""
    enterprise_id = claims.bound_enterprise(user)
    offers = claims.claimable(uow.session, services, enterprise_id=enterprise_id, today=claims.local_today(services))
    return [call_out(o) for o in offers]


@router.get("/enterprise", response_model=EnterpriseOut)
def get_enterprise(user: User = Applicant, uow: UnitOfWork = Depends(get_uow),
                   services: Services = Depends(get_services)) -> EnterpriseOut:
    """The caller's enterprise with its honours (404 while none is registered)."""
    if user.enterprise_id is None:
        raise NotFound("尚未登记企业")
    return enterprise_out(uow.session, services, uow.session.get_one(Enterprise, user.enterprise_id))


@router.post("/enterprise", response_model=EnterpriseOut, status_code=status.HTTP_201_CREATED)
def register_enterprise(body: EnterpriseIn, user: User = Applicant, uow: UnitOfWork = Depends(get_uow),
                        services: Services = Depends(get_services)) -> EnterpriseOut:
    """Register the caller's enterprise (credit code checked) and bind the caller to it."""
    ent = enterprises.register_for_user(uow.session, user=user, uscc=body.uscc, name=body.name,
                                        review_unit_code=body.review_unit, email=body.email,
                                        now=services.clock.now(), today=claims.local_today(services))
    uow.commit()
    return enterprise_out(uow.session, services, ent)


@router.post("/honours", response_model=HonourOut, status_code=status.HTTP_201_CREATED)
def add_honour(body: HonourIn, user: User = Applicant, uow: UnitOfWork = Depends(get_uow),
               services: Services = Depends(get_services)) -> HonourOut:
    """Record an honour of the caller's enterprise (types and levels of the loaded policy editions)."""
    enterprise_id = claims.bound_enterprise(user)
    honour = enterprises.add_honour(uow.session, enterprise_id=enterprise_id, honour_type=body.honour_type,
                                    level=body.level, recognised_on=body.recognised_on,
                                    document_no=body.document_no, issuer=body.issuer, editions=services.editions,
                                    actor=user.username, now=services.clock.now(),
                                    today=claims.local_today(services))
    uow.commit()
    return honour_out(services, honour)


@router.get("/applications", response_model=list[ApplicationRowOut])
def list_applications(user: User = Depends(current_user),
                      uow: UnitOfWork = Depends(get_uow)) -> list[ApplicationRowOut]:
    """Applications the caller may see (an applicant: their enterprise's; a district officer: their unit's)."""
    return [row_out(r) for r in progress.applications(uow.session, user)]


@router.get("/applications/{application_id}", response_model=ApplicationOut)
def get_application(application_id: IdPath, user: User = Depends(current_user),
                    uow: UnitOfWork = Depends(get_uow)) -> ApplicationOut:
    """One application: stage, deadline, decisions with reasons, files, payout (404 outside one's scope)."""
    return application_out(progress.detail(uow.session, user, application_id))


@router.post("/applications", response_model=ApplicationOut, status_code=status.HTTP_201_CREATED)
def create_application(body: ApplicationIn, user: User = Applicant, uow: UnitOfWork = Depends(get_uow),
                       services: Services = Depends(get_services)) -> ApplicationOut:
    """Apply in an open call; files are added afterwards with POST /applications/{id}/documents."""
    app = claims.apply(uow, services, user=user, call_id=body.call_id, award_type_code=body.award_type,
                       honour_id=body.honour_id, requested_fen=body.requested_fen, description=body.description,
                       uploads=[], now=services.clock.now())
    uow.commit()
    return application_out(progress.detail(uow.session, user, app.id))


@router.post("/applications/{application_id}/documents", response_model=list[DocumentOut],
             status_code=status.HTTP_201_CREATED)
def upload_documents(application_id: IdPath, files_: list[UploadFile] = File(..., alias="files"),
                     user: User = Applicant, uow: UnitOfWork = Depends(get_uow),
                     services: Services = Depends(get_services)) -> list[DocumentOut]:
    """Add supporting files (PDF, JPEG, PNG, recognised by content; size and count limits from the settings)
    before the first decision or while the application is returned for correction."""
    uploads = read_uploads(files_, services.settings)
    docs = claims.add_documents(uow, services, user=user, application_id=application_id, uploads=uploads,
                                now=services.clock.now())
    uow.commit()
    return [document_out(d) for d in docs]


@router.post("/applications/{application_id}/resubmit", response_model=ApplicationOut)
def resubmit(application_id: IdPath, body: ResubmitIn, user: User = Applicant,
             uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> ApplicationOut:
    """Resubmit a returned application (optionally with a corrected description); it goes back to the district."""
    claims.resubmit(uow, services, user=user, application_id=application_id, description=body.description,
                    uploads=[], now=services.clock.now())
    uow.commit()
    return application_out(progress.detail(uow.session, user, application_id))


@router.get("/documents/{document_id}", response_class=Response,
            responses={200: {"content": DOWNLOAD_TYPES, "description": "the file, as an attachment"}})
def download(document_id: IdPath, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
             services: Services = Depends(get_services)) -> Response:
    """Download a supporting file of an application the caller may see (404 otherwise)."""
    doc = files.visible_document(uow.session, user, document_id)
    return download_response(doc, files.read_content(services.settings.data_dir, doc))
