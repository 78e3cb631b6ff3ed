"""How each application stands, as the people who may see it read it: its stage and deadline, the
decisions so far with their reasons, its files and its payout. Every query is scoped by
services.accounts.access (an application outside the user's scope is NotFound)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from services.accounts.access import scope_applications, visible_application
from services.awards import claims, labels
from services.db.models import (
    Application,
    AwardType,
    Call,
    Document,
    Enterprise,
    Honour,
    Payout,
    ReviewUnit,
    User,
    WorkItem,
)


@dataclass(frozen=True)
class Row:
    """One line of an application list."""

    id: int
    enterprise: str
    award: str
    call: str
    status: str
    stage_name: str
    requested_fen: int
    awarded_fen: int | None
    due_at: datetime | None  # the earliest deadline of its open steps
    overdue: bool
    returned: bool  # waiting for the applicant's correction
    created_at: datetime
    stage: str = ""  # the diagram's step (public_notice: a period that ends by itself, not work to do)
    stage_since: datetime | None = None  # when that step began


@dataclass(frozen=True)
class Step:
    """A decision taken (or a step closed by its timer)."""

    name: str
    office: str
    outcome: str | None
    reason: str | None
    at: datetime | None


@dataclass(frozen=True)
class OpenStep:
    item_id: int
    name: str
    office: str
    due_at: datetime | None
    overdue: bool
    stage: str = ""
    since: datetime | None = None


@dataclass(frozen=True)
class Detail:
    application: Application
    enterprise: Enterprise
    award: AwardType
    call: Call
    honour: Honour
    open_steps: tuple[OpenStep, ...]
    history: tuple[Step, ...]
    documents: tuple[Document, ...]
    payout: Payout | None
    correction_item_id: int | None  # set when this user can correct and resubmit now
    may_add_documents: bool


def applications(session: Session, user: User, *, limit: int = 500) -> list[Row]:
    """The applications the user may see, newest first, with stage and nearest deadline."""
    base: Select[Any] = cast(Select[Any], select(Application, Enterprise.name, AwardType.name_zh, Call.title)
                             .join(Enterprise, Enterprise.id == Application.enterprise_id)
                             .join(AwardType, AwardType.code == Application.award_type_code)
                             .join(Call, Call.id == Application.call_id))
    query = scope_applications(base, user).order_by(Application.id.desc()).limit(limit)
    found = list(session.execute(query))
    ids = [app.id for app, *_ in found]
    items: dict[int, list[WorkItem]] = {}
    if ids:
        for item in session.scalars(select(WorkItem).where(WorkItem.application_id.in_(ids),
                                                           WorkItem.status == "open")):
            items.setdefault(item.application_id, []).append(item)
    rows = []
    for app, enterprise, award, call in found:
        open_items = items.get(app.id, [])
        dues = [i.due_at for i in open_items if i.due_at is not None]
        rows.append(Row(app.id, enterprise, award, call, app.status, app.stage_name, app.requested_fen,
                        app.awarded_fen, min(dues) if dues else None, any(i.overdue for i in open_items),
                        any(i.task_spec == claims.CORRECTION for i in open_items), app.created_at,
                        app.stage, min((i.created_at for i in open_items), default=None)))
    return rows


def _office(item: WorkItem, units: dict[str, str]) -> str:
    if item.role == "district":
        return units.get(item.review_unit_code or "", "区县审核单位")
    return labels.office(item.role)


def detail(session: Session, user: User, application_id: int) -> Detail:
    """One application with everything its follower needs; NotFound outside the user's scope."""
    app = visible_application(session, user, application_id)
    units = {u.code: u.name_zh for u in session.scalars(select(ReviewUnit))}
    items = list(session.scalars(select(WorkItem).where(WorkItem.application_id == app.id)
                                 .order_by(WorkItem.completed_at.is_(None), WorkItem.completed_at, WorkItem.id)))
    history = tuple(Step(i.name, _office(i, units), i.outcome, i.reason, i.completed_at)
                    for i in items if i.status != "open")
    open_steps = tuple(OpenStep(i.id, i.name, _office(i, units), i.due_at, i.overdue, i.task_spec, i.created_at)
                       for i in items if i.status == "open")
    documents = tuple(session.scalars(select(Document).where(Document.application_id == app.id)
                                      .order_by(Document.id)))
    payout = session.scalars(select(Payout).where(Payout.application_id == app.id)).first()
    correction = claims.correction_item(session, user, app)
    return Detail(app, session.get_one(Enterprise, app.enterprise_id), session.get_one(AwardType, app.award_type_code),
                  session.get_one(Call, app.call_id), session.get_one(Honour, app.honour_id), open_steps, history,
                  documents, payout, correction.id if correction else None,
                  claims.may_add_documents(session, user, app))
