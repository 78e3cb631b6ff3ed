"""Page: the bureau registers one complaint (投诉登记) by hand, the same check as the API, the CLI and
the ledger import (`services.arrears.intake.register`). A refused form comes back with the message,
the field marked and everything typed kept; nothing is stored."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from app.web.deps import Principal, csrf_form, current_principal, get_services, get_uow
from app.web.errors import status_of
from app.web.templating import render
from services.accounts.access import require_role
from services.arrears import intake
from services.arrears.statute import KIND_NAMES
from services.arrears.transfer import INTAKE_COLUMNS, INTAKES
from services.bootstrap import Services
from services.db.models_arrears import ArrearsDebtor
from services.errors import InvalidInput, SmeflowError
from services.uow import UnitOfWork

router = APIRouter()
LABELS = {**INTAKE_COLUMNS, **intake.COLUMNS}  # how it came (services.arrears.transfer), then the ledger's fields
FIELDS = tuple(LABELS)
MAX_FIELD = 2000
DEBTOR_CHOICES = 500  # the form lists at most this many debtors; any registered one may be typed


def _debtors(uow: UnitOfWork) -> list[ArrearsDebtor]:
    return list(uow.session.scalars(select(ArrearsDebtor).order_by(ArrearsDebtor.name).limit(DEBTOR_CHOICES)))


def _form(request: Request, uow: UnitOfWork, form: dict[str, str], error: SmeflowError | None,
          status_code: int = 200) -> Response:
    field = error.field if isinstance(error, InvalidInput) else None
    return render(request, "arrears/register.html", {
        "form": form, "error": error.message if error else None, "error_field": field,
        "error_label": LABELS.get(field or "", ""), "error_rule": error.rule if isinstance(error, InvalidInput)
        else None, "labels": LABELS, "required": intake.REQUIRED, "debtors": _debtors(uow),
        "kinds": KIND_NAMES, "intakes": INTAKES}, status_code=status_code)


@router.get("/arrears/register")
def register_form(request: Request, principal: Principal = Depends(current_principal),
                  uow: UnitOfWork = Depends(get_uow)) -> Response:
    """The empty complaint form (the bureau)."""
    require_role(principal.user, "bureau")
    return _form(request, uow, {}, None)


async def _fields(request: Request) -> dict[str, str]:
    """The form's fields, cut at MAX_FIELD (only awaits the parsed form: the route runs in a thread)."""
    raw = await request.form()
    return {k: str(raw.get(k) or "")[:MAX_FIELD] for k in FIELDS}


@router.post("/arrears/register")
def register_post(request: Request, principal: Principal = Depends(csrf_form),
                  uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services),
                  form: dict[str, str] = Depends(_fields)) -> Response:
    """Register the complaint; on success the new case's page."""
    require_role(principal.user, "bureau")
    record = {k: v.strip() or None for k, v in form.items()}
    try:
        case = intake.register(uow, services, record=record, actor=principal.user.username, now=services.clock.now())
        uow.commit()
    except SmeflowError as exc:
        uow.session.rollback()
        return _form(request, uow, form, exc, status_code=status_of(exc))
    done = "transferred" if case.source == "province" else "registered"
    return RedirectResponse(f"/arrears/cases/{case.id}?done={done}", status_code=303)
