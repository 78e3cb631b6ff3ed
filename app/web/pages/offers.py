"""Pages: awards offered without an application (免申即享). The enterprise confirms or declines in /my;
a district officer (and the bureau) sees the offers of its unit with the figures per call and district,
and issues a one-time claim code for an enterprise without an account; an applicant account without an
enterprise redeems it at /claim."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from app.web.deps import Principal, csrf_form, current_principal, get_services, get_uow
from app.web.errors import status_of
from app.web.templating import render
from services.accounts.access import require_role
from services.bootstrap import Services
from services.db.models import User
from services.errors import InvalidInput, SmeflowError
from services.pool import offer_views, responses
from services.uow import UnitOfWork

router = APIRouter()
IdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]


def offer_context(
    request: Request, session: Session, user: User, *, error: SmeflowError | None = None, offer_id: int | None = None
) -> dict[str, Any]:
    """What /my shows of the enterprise's offers."""
    views = offer_views.my_offers(session, user)
    return {
        "offers": views,
        "offer_states": offer_views.STATE_NAMES,
        "offer_error": error.message if error else None,
        "offer_error_field": error.field if isinstance(error, InvalidInput) else None,
        "offer_error_id": offer_id,
        "commitments": list(request.app.state.services.settings.offer_commitments),
    }


@router.post("/my/offers/{offer_id}")
def respond(
    request: Request,
    offer_id: IdPath,
    decision: Annotated[str, Form(max_length=10)] = "confirm",
    bank_name: Annotated[str, Form(max_length=200)] = "",
    account_name: Annotated[str, Form(max_length=300)] = "",
    account_no: Annotated[str, Form(max_length=60)] = "",
    accept: Annotated[str, Form(max_length=5)] = "",
    principal: Principal = Depends(csrf_form),
    uow: UnitOfWork = Depends(get_uow),
    services: Services = Depends(get_services),
) -> Response:
    """Confirm an offer (bank account and the commitments) or decline it."""
    try:
        responses.respond(
            uow,
            services,
            user=principal.user,
            offer_id=offer_id,
            decision=decision,
            now=services.clock.now(),
            bank_name=bank_name,
            account_name=account_name,
            account_no=account_no,
            accept_commitments=bool(accept),
        )
        uow.commit()
    except SmeflowError as exc:
        uow.session.rollback()
        from services.awards import progress

        return render(
            request,
            "applicant/my.html",
            {
                "rows": progress.applications(uow.session, principal.user),
                "status": "",
                "statuses": [],
                **offer_context(request, uow.session, principal.user, error=exc, offer_id=offer_id),
            },
            status_code=status_of(exc),
        )
    return RedirectResponse("/my", status_code=303)


@router.get("/offers")
def offers_page(
    request: Request,
    call: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    principal: Principal = Depends(current_principal),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    """Offers of the unit (the bureau: every unit), with figures per call and district."""
    views = offer_views.unit_offers(uow.session, principal.user, call_id=call)
    return render(
        request,
        "offers/index.html",
        {
            "views": views,
            "figures": offer_views.figures(uow.session, principal.user, call_id=call),
            "states": offer_views.STATE_NAMES,
            "code": None,
            "code_for": None,
        },
    )


@router.post("/offers/{offer_id}/claim-code")
def claim_code(
    request: Request,
    offer_id: IdPath,
    principal: Principal = Depends(csrf_form),
    uow: UnitOfWork = Depends(get_uow),
    services: Services = Depends(get_services),
) -> Response:
    """Issue a one-time claim code (shown once) for an offered enterprise without an account."""
    code = responses.issue_claim_code(uow, user=principal.user, offer_id=offer_id, now=services.clock.now())
    uow.commit()
    views = offer_views.unit_offers(uow.session, principal.user)
    return render(
        request,
        "offers/index.html",
        {
            "views": views,
            "figures": offer_views.figures(uow.session, principal.user),
            "states": offer_views.STATE_NAMES,
            "code": code,
            "code_for": next((v.enterprise_name for v in views if v.offer.id == offer_id), ""),
        },
    )


@router.get("/claim")
def claim_form(request: Request, principal: Principal = Depends(current_principal)) -> Response:
    """The claim-code form of an applicant account not yet bound to an enterprise."""
    require_role(principal.user, "applicant")
    return render(request, "offers/claim.html", {"error": None})


@router.post("/claim")
def claim(
    request: Request,
    claim_code: Annotated[str, Form(max_length=40)] = "",
    principal: Principal = Depends(csrf_form),
    uow: UnitOfWork = Depends(get_uow),
    services: Services = Depends(get_services),
) -> Response:
    """Bind the account to the enterprise the claim code was issued for."""
    try:
        responses.claim(uow, user=principal.user, code=claim_code, now=services.clock.now())
        uow.commit()
    except SmeflowError as exc:
        uow.session.rollback()
        return render(request, "offers/claim.html", {"error": exc.message}, status_code=status_of(exc))
    return RedirectResponse("/my", status_code=303)
