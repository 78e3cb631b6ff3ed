"""API routes: admin (calls, users, diagram versions). Every write is one transaction with its audit event."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Path, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.web.deps import current_user, get_services, get_uow
from app.web.pages.admin import MAX_ID, admin_only, today
from services.awards import admin
from services.awards import diagrams as admin_diagrams
from services.bootstrap import Services
from services.db.models import Call, User
from services.engine.validate import DiagramInvalid
from services.uow import UnitOfWork

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(admin_only)])
Role = Literal["applicant", "district", "bureau", "finance", "manager", "auditor", "admin"]


class CallIn(BaseModel):
    edition: str = Field(max_length=40)
    title: str = Field(min_length=1, max_length=200)
    opens_on: date
    closes_on: date
    award_types: list[str] = Field(min_length=1, max_length=100)
    fund: str = Field(max_length=60, description="fund code")


class CallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    edition_code: str
    title: str
    opens_on: date
    closes_on: date
    award_types: list[str]
    closed_early: bool


class UserIn(BaseModel):
    username: str = Field(min_length=3, max_length=80)
    display_name: str = Field(min_length=1, max_length=120)
    role: Role
    password: str = Field(min_length=8, max_length=200)
    review_unit: str | None = Field(default=None, max_length=40, description="required for role district")
    enterprise_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="required for role applicant")
    email: str | None = Field(default=None, max_length=200)
    unit_head: bool = False


class UserPatch(BaseModel):
    role: Role | None = None
    review_unit: str | None = Field(default=None, max_length=40)
    enterprise_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    display_name: str | None = Field(default=None, min_length=1, max_length=120)
    email: str | None = Field(default=None, max_length=200)
    active: bool | None = None
    unit_head: bool | None = None


class UserOut(BaseModel):
    username: str
    display_name: str
    role: str
    review_unit: str | None
    enterprise_id: int | None
    email: str | None
    active: bool
    unit_head: bool


class DiagramOut(BaseModel):
    hash: str
    process_id: str
    source_name: str
    created_at: datetime
    current: bool
    running: int = 0
    total: int = 0


class ProblemOut(BaseModel):
    file: str
    line: int | None
    element_id: str | None
    element_name: str | None = Field(default=None, description="the element's name in the diagram, or its kind")
    message: str
    severity: str


class DiagramRejected(BaseModel):
    detail: str
    field: str = "file"
    rule: str
    problems: list[ProblemOut]


def _user_out(u: User) -> UserOut:
    return UserOut(username=u.username, display_name=u.display_name, role=u.role, review_unit=u.review_unit_code,
                   enterprise_id=u.enterprise_id, email=u.email, active=u.active, unit_head=u.unit_head)


def _call_out(call: Call) -> CallOut:
    return CallOut.model_validate(call)


@router.get("/calls", response_model=list[CallOut])
def list_calls(user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow)) -> list[CallOut]:
    """Every call, newest first."""
    return [_call_out(c) for c in admin.list_calls(uow.session, user=user)]


@router.post("/calls", response_model=CallOut, status_code=201)
def open_call(body: CallIn, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
              services: Services = Depends(get_services)) -> CallOut:
    """Open a call for some award types of an edition between two dates, drawing on a fund."""
    call = admin.open_call(uow.session, user=user, editions=services.editions, edition_code=body.edition,
                           title=body.title, opens_on=body.opens_on, closes_on=body.closes_on,
                           award_types=body.award_types, fund_code=body.fund, now=services.clock.now())
    out = _call_out(call)
    uow.commit()
    return out


@router.post("/calls/{call_id}/close", response_model=CallOut)
def close_call(call_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: User = Depends(current_user),
               uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> CallOut:
    """Close a call early; it accepts no further application."""
    call = admin.close_call(uow.session, user=user, call_id=call_id, now=services.clock.now(), today=today(services))
    out = _call_out(call)
    uow.commit()
    return out


@router.get("/users", response_model=list[UserOut])
def list_users(user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow)) -> list[UserOut]:
    """Every user with role, unit or enterprise, and standing."""
    return [_user_out(u) for u in admin.list_users(uow.session, user=user)]


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
                services: Services = Depends(get_services)) -> UserOut:
    """Create a user; a district officer needs a current review unit, an applicant an enterprise."""
    created = admin.create_user(uow.session, user=user, hasher=services.password_hasher, username=body.username,
                                display_name=body.display_name, role=body.role, password=body.password,
                                review_unit_code=body.review_unit, enterprise_id=body.enterprise_id,
                                email=body.email, unit_head=body.unit_head, now=services.clock.now(),
                                today=today(services))
    out = _user_out(created)
    uow.commit()
    return out


@router.patch("/users/{username}", response_model=UserOut)
def update_user(username: str, body: UserPatch, user: User = Depends(current_user),
                uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> UserOut:
    """Change role, unit, enterprise, name, e-mail, unit-head flag or standing (`active: false` deactivates)."""
    changes = admin.UserChanges(role=body.role, review_unit_code=body.review_unit, enterprise_id=body.enterprise_id,
                                display_name=body.display_name, email=body.email, active=body.active,
                                unit_head=body.unit_head)
    updated = admin.update_user(uow.session, user=user, username=username, changes=changes,
                                now=services.clock.now(), today=today(services))
    out = _user_out(updated)
    uow.commit()
    return out


@router.get("/diagrams", response_model=list[DiagramOut])
def list_diagrams(user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow)) -> list[DiagramOut]:
    """Every stored diagram version per process, with how many cases run on each."""
    return [DiagramOut.model_validate(v, from_attributes=True)
            for v in admin_diagrams.versions(uow.session, user=user)]


@router.post("/diagrams", response_model=DiagramOut, status_code=201,
             responses={422: {"model": DiagramRejected, "description": "the diagram did not validate; nothing stored"}})
def upload_diagram(file: UploadFile = File(..., description="a BPMN 2.0 file (.bpmn)"),
                   user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
                   services: Services = Depends(get_services)) -> DiagramOut | JSONResponse:
    """Upload a new diagram version; validated like `smeflow bpmn validate`, a rejected upload changes nothing."""
    content = file.file.read(admin_diagrams.MAX_DIAGRAM_BYTES + 1)
    try:
        done = admin_diagrams.upload(uow.session, services.engine, user=user, filename=file.filename or "",
                                     content=content, now=services.clock.now())
    except DiagramInvalid as exc:
        problems = [ProblemOut(file=p.file, line=p.line, element_id=p.element_id, element_name=p.element_name,
                               message=p.message, severity=p.severity) for p in exc.problems]
        body = DiagramRejected(detail=f"文件：流程图未通过校验（{len(problems)} 个问题），未做任何更改",
                               rule=f"{len(problems)} 个问题", problems=problems)
        return JSONResponse(body.model_dump(), status_code=422)
    row = done.definition
    out = DiagramOut(hash=row.hash, process_id=row.process_id, source_name=row.source_name,
                     created_at=row.created_at, current=row.current)
    uow.commit()
    return out
