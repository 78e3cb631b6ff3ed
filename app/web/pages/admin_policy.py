"""Pages: the admin's policy editions: every stored revision with its state by date (草案, 施行, 失效),
and an upload that checks an edition file like `smeflow policy validate` and stores it like
`smeflow policy load` (a refused file lists every problem and stores nothing)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from app.web.deps import Principal, csrf_form, current_user, get_services, get_uow
from app.web.errors import status_of
from app.web.pages.admin import admin_only, today
from app.web.templating import render
from config.policy_check import MAX_FILE_BYTES
from services.bootstrap import Services
from services.db.models import User
from services.errors import SmeflowError
from services.policy import store
from services.uow import UnitOfWork

router = APIRouter(dependencies=[Depends(admin_only)])


def _page(request: Request, uow: UnitOfWork, services: Services, extra: dict[str, Any] | None = None,
          status_code: int = 200) -> Response:
    day = today(services)
    rows = [(r, store.STATES[store.state(r.edition, day)]) for r in store.revisions(uow.session)]
    ctx = {"rows": rows, "today": day, "error": None, "issues": [], "checked": None, "loaded": None,
           **(extra or {})}
    return render(request, "admin/policy.html", ctx, status_code=status_code)


@router.get("/admin/policy")
def policy_page(request: Request, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
                services: Services = Depends(get_services)) -> Response:
    return _page(request, uow, services)


@router.post("/admin/policy")
def policy_upload(request: Request, principal: Principal = Depends(csrf_form), file: UploadFile = File(...),
                  action: str = Form("validate"), uow: UnitOfWork = Depends(get_uow),
                  services: Services = Depends(get_services)) -> Response:
    """校验 (check only) or 校验并加载 (check, then store as a new revision)."""
    raw = file.file.read(MAX_FILE_BYTES + 1)
    name = (file.filename or "edition.toml")[:200]
    if action != "load":
        issues, edition = store.validate(uow.session, raw, name)
        if edition is None:
            return _page(request, uow, services, {"issues": issues, "error": f"“{name}”未通过校验。"}, 422)
        return _page(request, uow, services, {"checked": edition})
    try:
        loaded = store.load_as(uow.session, user=principal.user, raw=raw, name=name, now=services.clock.now())
    except store.EditionRejected as exc:
        uow.session.rollback()
        return _page(request, uow, services, {"issues": exc.issues,
                                              "error": f"“{name}”未通过校验，未做任何更改。"}, 422)
    except SmeflowError as exc:
        uow.session.rollback()
        return _page(request, uow, services, {"error": exc.message}, status_of(exc))
    uow.after_commit(services.edition_cache.invalidate)
    uow.commit()
    return _page(request, uow, services, {"loaded": loaded})
