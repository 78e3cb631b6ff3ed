"""API routes: budget lines per year (the city's special fund, the districts' matching funds).

Reading: bureau, admins, managers, finance, auditors. Creating and adjusting: bureau and admins;
an adjustment needs a reason and writes an audit event. Money is integer fen (``strict``: a float
is refused with 422).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from app.web.deps import current_user, get_services, get_uow
from services.awards import funds
from services.bootstrap import Services
from services.dashboard import fund_figures
from services.db.models import User
from services.uow import UnitOfWork

router = APIRouter(prefix="/funds", tags=["funds"])


class FundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int = Field(strict=True, ge=2000, le=2100, description="budget year")
    line: str = Field(default="city", max_length=40, description="`city` (专项资金) or a review unit code (配套资金)")
    budget_fen: int = Field(strict=True, ge=0, le=funds.MAX_FEN, description="budget in fen (integer)")
    name: str | None = Field(default=None, max_length=200)


class AdjustIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=funds.REASON_MAX)
    to_fen: int | None = Field(default=None, strict=True, description="the new budget in fen")
    by_fen: int | None = Field(default=None, strict=True, description="change in fen (negative cuts)")


class LineOut(BaseModel):
    code: str
    name: str
    year: int
    line: str
    budget_fen: int
    committed_fen: int
    paid_fen: int
    remaining_fen: int
    available_fen: int


def _out(session: Session, services: Services, code: str | None = None) -> list[LineOut]:
    figures = fund_figures(session, district_percent=services.settings.district_matching_percent)
    return [LineOut(code=f.code, name=f.name, year=f.year, line=f.line, budget_fen=f.budget_fen,
                    committed_fen=f.committed_fen, paid_fen=f.paid_fen, remaining_fen=f.remaining_fen,
                    available_fen=f.available_fen) for f in figures if code is None or f.code == code]


@router.get("", response_model=list[LineOut])
def list_lines(user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
               services: Services = Depends(get_services)) -> list[LineOut]:
    """Every budget line with budget, committed, paid, remaining and available (fen)."""
    funds.lines(uow.session, user=user)
    return _out(uow.session, services)


@router.post("", response_model=LineOut, status_code=201)
def create_line(body: FundIn, user: User = Depends(current_user), uow: UnitOfWork = Depends(get_uow),
                services: Services = Depends(get_services)) -> LineOut:
    """Create a budget line of a year."""
    fund = funds.create(uow.session, user=user, year=body.year, line=body.line, budget_fen=body.budget_fen,
                        name=body.name, now=services.clock.now())
    uow.commit()
    return _out(uow.session, services, fund.code)[0]


@router.post("/{code}/adjust", response_model=LineOut)
def adjust_line(body: AdjustIn, code: str = Path(max_length=60), user: User = Depends(current_user),
                uow: UnitOfWork = Depends(get_uow), services: Services = Depends(get_services)) -> LineOut:
    """Set (`to_fen`) or change (`by_fen`) a line's budget, with a reason (audited)."""
    fund = funds.adjust(uow.session, user=user, code=code, reason=body.reason, to_fen=body.to_fen,
                        by_fen=body.by_fen, now=services.clock.now())
    uow.commit()
    return _out(uow.session, services, fund.code)[0]
