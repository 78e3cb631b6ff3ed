"""Request and response models of the applicant's API (documented in /openapi.json), and the
conversions from the service's read models. Money is integer fen, with yuan text beside it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.awards import labels, progress
from services.awards.claims import DESCRIPTION_MAX, CallOffer
from services.bootstrap import Services
from services.db.models import Document, Enterprise, Honour, ReviewUnit
from services.money import yuan

MAX_ID = 2**63 - 1  # a database id (BIGINT); larger numbers are no id at all
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


class AwardOfferOut(BaseModel):
    code: str
    name_zh: str
    measure: int
    cap_fen: int = Field(description="the cap (最高不超过) in fen")
    cap_yuan: str
    eligible: bool
    reason: str | None = Field(description="why the enterprise may not claim it, when it may not")
    honour_ids: list[int] = Field(description="the enterprise's honours that qualify for it")
    application_id: int | None


class OpenCallOut(BaseModel):
    id: int
    title: str
    opens_on: date
    closes_on: date
    edition: str
    awards: list[AwardOfferOut]


class HonourIn(BaseModel):
    honour_type: str = Field(max_length=40, description="code of an honour type of the loaded policy edition")
    level: str = Field(max_length=20, description="national | province | city")
    recognised_on: date
    document_no: str = Field(max_length=120, description="认定文件号")
    issuer: str | None = Field(default=None, max_length=120)


class HonourOut(BaseModel):
    id: int
    honour_type: str
    honour_type_zh: str
    level: str
    level_zh: str
    recognised_on: date
    document_no: str
    issuer: str | None


class EnterpriseIn(BaseModel):
    uscc: str = Field(max_length=40, description="统一社会信用代码 (GB 32100-2015)")
    name: str = Field(max_length=200)
    review_unit: str = Field(max_length=40, description="code of an active review unit")
    email: str | None = Field(default=None, max_length=200)


class EnterpriseOut(BaseModel):
    id: int
    uscc: str
    name: str
    review_unit: str
    review_unit_zh: str
    email: str | None
    honours: list[HonourOut]


class ApplicationIn(BaseModel):
    call_id: DbId
    award_type: str = Field(max_length=60)
    honour_id: DbId
    requested_fen: int = Field(ge=1, le=MAX_ID, description="requested amount in fen, at most the award's cap")
    description: str = Field(default="", max_length=DESCRIPTION_MAX)


class ResubmitIn(BaseModel):
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX,
                                    description="the corrected description; omitted = unchanged")


class DocumentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    url: str


class DecisionStepOut(BaseModel):
    name: str
    office: str
    outcome: str | None
    outcome_zh: str | None
    reason: str | None
    at: datetime | None


class PendingStepOut(BaseModel):
    name: str
    office: str
    due_at: datetime | None
    overdue: bool


class ApplicationRowOut(BaseModel):
    id: int
    enterprise: str
    award: str
    call: str
    status: str
    status_zh: str
    stage_name: str
    requested_fen: int
    awarded_fen: int | None
    due_at: datetime | None
    overdue: bool
    returned: bool
    created_at: datetime


class ApplicationOut(BaseModel):
    id: int
    enterprise: str
    award_type: str
    award: str
    cap_fen: int
    call_id: int
    call: str
    honour_id: int
    status: str
    status_zh: str
    stage: str
    stage_name: str
    description: str
    requested_fen: int
    awarded_fen: int | None
    paid_fen: int | None
    payment_reference: str | None
    open_steps: list[PendingStepOut]
    history: list[DecisionStepOut] = Field(description="decisions so far, oldest first, with their reasons")
    documents: list[DocumentOut]
    can_resubmit: bool
    may_add_documents: bool
    created_at: datetime


def _names(services: Services) -> tuple[dict[str, str], dict[str, str]]:
    kinds = {h.code: h.name_zh for ed in services.editions for h in ed.honour_types}
    levels = {lv.code: lv.name_zh for ed in services.editions for lv in ed.levels}
    return kinds, levels


def call_out(offer: CallOffer) -> OpenCallOut:
    return OpenCallOut(id=offer.call_id, title=offer.title, opens_on=offer.opens_on, closes_on=offer.closes_on,
                   edition=offer.edition_code,
                   awards=[AwardOfferOut(code=a.code, name_zh=a.name_zh, measure=a.measure, cap_fen=a.cap_fen,
                                         cap_yuan=yuan(a.cap_fen), eligible=a.eligible, reason=a.reason,
                                         honour_ids=list(a.honour_ids), application_id=a.application_id)
                           for a in offer.awards])


def honour_out(services: Services, h: Honour) -> HonourOut:
    kinds, levels = _names(services)
    return HonourOut(id=h.id, honour_type=h.honour_type, honour_type_zh=kinds.get(h.honour_type, h.honour_type),
                     level=h.level, level_zh=levels.get(h.level, h.level), recognised_on=h.recognised_on,
                     document_no=h.document_no, issuer=h.issuer)


def enterprise_out(session: Session, services: Services, ent: Enterprise) -> EnterpriseOut:
    honours = session.scalars(select(Honour).where(Honour.enterprise_id == ent.id).order_by(Honour.id))
    unit = session.get(ReviewUnit, ent.review_unit_code)
    return EnterpriseOut(id=ent.id, uscc=ent.uscc, name=ent.name, review_unit=ent.review_unit_code,
                         review_unit_zh=unit.name_zh if unit else ent.review_unit_code, email=ent.email,
                         honours=[honour_out(services, h) for h in honours])


def document_out(d: Document) -> DocumentOut:
    return DocumentOut(id=d.id, filename=d.filename, content_type=d.content_type, size=d.size, sha256=d.sha256,
                       uploaded_by=d.uploaded_by, uploaded_at=d.uploaded_at, url=f"/api/v1/documents/{d.id}")


def row_out(r: progress.Row) -> ApplicationRowOut:
    return ApplicationRowOut(id=r.id, enterprise=r.enterprise, award=r.award, call=r.call, status=r.status,
                             status_zh=labels.status(r.status), stage_name=r.stage_name,
                             requested_fen=r.requested_fen, awarded_fen=r.awarded_fen, due_at=r.due_at,
                             overdue=r.overdue, returned=r.returned, created_at=r.created_at)


def application_out(d: progress.Detail) -> ApplicationOut:
    a = d.application
    return ApplicationOut(
        id=a.id, enterprise=d.enterprise.name, award_type=a.award_type_code, award=d.award.name_zh,
        cap_fen=d.award.cap_fen, call_id=a.call_id, call=d.call.title, honour_id=a.honour_id, status=a.status,
        status_zh=labels.status(a.status), stage=a.stage, stage_name=a.stage_name, description=a.description,
        requested_fen=a.requested_fen, awarded_fen=a.awarded_fen,
        paid_fen=d.payout.amount_fen if d.payout else None,
        payment_reference=d.payout.reference if d.payout else None,
        open_steps=[PendingStepOut(name=s.name, office=s.office, due_at=s.due_at, overdue=s.overdue)
                    for s in d.open_steps],
        history=[DecisionStepOut(name=s.name, office=s.office, outcome=s.outcome,
                         outcome_zh=labels.decision(s.outcome) if s.outcome else None, reason=s.reason, at=s.at)
                 for s in d.history],
        documents=[document_out(doc) for doc in d.documents], can_resubmit=d.correction_item_id is not None,
        may_add_documents=d.may_add_documents, created_at=a.created_at)
