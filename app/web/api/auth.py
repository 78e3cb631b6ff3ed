"""API authentication: exchange a password for a bearer token; list and revoke tokens; who am I."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from app.web.deps import current_user, get_services, get_uow
from app.web.security import wall_now
from app.web.signin import sign_in
from services.accounts import tokens
from services.awards import admin
from services.bootstrap import Services
from services.db.models import ApiToken, User
from services.uow import UnitOfWork

router = APIRouter(tags=["auth"])
MAX_ID = 2**31 - 1


class TokenRequest(BaseModel):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)
    name: str = Field(default="api", max_length=80)
    days: int | None = Field(default=None, ge=1, le=3660,
                             description="Lifetime in days; default and upper bound: the setting api_token_days.")


class TokenResponse(BaseModel):
    token: str
    token_type: str = "bearer"
    id: int
    expires_at: datetime


class TokenInfo(BaseModel):
    id: int
    name: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked: bool
    live: bool = Field(description="Not revoked and not expired.")


class Me(BaseModel):
    username: str
    display_name: str
    role: str
    review_unit: str | None
    enterprise_id: int | None


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(id=row.id, name=row.name, created_at=row.created_at, expires_at=row.expires_at,
                     last_used_at=row.last_used_at, revoked=row.revoked,
                     live=not row.revoked and row.expires_at > wall_now())


LOCKED = {"description": "Too many failed sign-ins: the username or the client address is locked for a while.",
          "content": {"application/json": {"schema": {"type": "object", "required": ["detail"],
                                                       "properties": {"detail": {"type": "string"}}}}}}


@router.post("/tokens", response_model=TokenResponse, responses={429: LOCKED})
def create_token(request: Request, body: TokenRequest, uow: UnitOfWork = Depends(get_uow),
                 services: Services = Depends(get_services)) -> TokenResponse:
    """Issue a bearer token for the user (shown once), valid `days` (default: the setting `api_token_days`)."""
    user = sign_in(request, uow, services, username=body.username, password=body.password)
    limit = services.settings.api_token_days
    token, row = tokens.issue(uow.session, user=user, name=body.name, now=wall_now(), days=body.days or limit,
                              max_days=limit)
    answer = TokenResponse(token=token, id=row.id, expires_at=row.expires_at)
    uow.commit()
    return answer


@router.get("/tokens", response_model=list[TokenInfo])
def list_tokens(user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
                username: Annotated[str | None, Query(max_length=80, alias="user",
                                                      description="Whose tokens (admins only); default: one's own.")]
                = None) -> list[TokenInfo]:
    """The caller's API tokens, newest first; an admin may name any user."""
    owner = user if username is None or username == user.username else admin.get_user(
        uow.session, user=user, username=username)
    return [_info(row) for row in tokens.listed(uow.session, user=user, owner=owner)]


@router.delete("/tokens/{token_id}", response_model=TokenInfo)
def revoke_token(token_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: User = Depends(current_user),
                 uow: UnitOfWork = Depends(get_uow)) -> TokenInfo:
    """Revoke a token: one's own, or (admins) anyone's; another user's token answers 404."""
    row = tokens.revoke(uow.session, user=user, token_id=token_id)
    uow.commit()
    return _info(row)


@router.get("/me", response_model=Me)
def me(user: User = Depends(current_user)) -> Me:
    return Me(username=user.username, display_name=user.display_name, role=user.role,
              review_unit=user.review_unit_code, enterprise_id=user.enterprise_id)
