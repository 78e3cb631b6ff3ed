"""API authentication: exchange a password for a bearer token; who am I."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from app.web.deps import current_user, get_services, get_uow
from app.web.signin import sign_in
from services.accounts import tokens
from services.bootstrap import Services
from services.db.models import User
from services.uow import UnitOfWork

router = APIRouter(tags=["auth"])


class TokenRequest(BaseModel):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)
    name: str = Field(default="api", max_length=80)


class TokenResponse(BaseModel):
    token: str
    token_type: str = "bearer"


class Me(BaseModel):
    username: str
    display_name: str
    role: str
    review_unit: str | None
    enterprise_id: int | None


@router.post("/tokens", response_model=TokenResponse)
def create_token(request: Request, body: TokenRequest, uow: UnitOfWork = Depends(get_uow),
                 services: Services = Depends(get_services)) -> TokenResponse:
    """Issue a bearer token for the user (shown once)."""
    user = sign_in(request, uow, services, username=body.username, password=body.password)
    token = tokens.issue(uow.session, user=user, name=body.name, now=services.clock.now())
    uow.commit()
    return TokenResponse(token=token)


@router.get("/me", response_model=Me)
def me(user: User = Depends(current_user)) -> Me:
    return Me(username=user.username, display_name=user.display_name, role=user.role,
              review_unit=user.review_unit_code, enterprise_id=user.enterprise_id)
